// State of one correlation rule: sequences (A then B within T on the same key) and thresholds (N
// events within T per key). Keys are held in LRU order under a cap; evictions and expiries are counted.
import type { VmiEvent } from '../introspect/events/event.js';
import type { FieldGetter } from './access.js';
import { fieldGetter } from './access.js';
import type { LoadedCorrelation } from './load.js';

export interface CorrelationStats {
  /** Keys held now. */
  keys: number;
  /** Keys dropped because the cap was reached (their partial matches are lost). */
  evicted: number;
  /** Keys dropped because their window had passed. */
  expired: number;
  /** Events that could not be keyed (a `by` field missing). */
  unkeyed: number;
}

interface Partial {
  start: number;
  events: VmiEvent[];
}

interface SequenceEntry {
  partials: (Partial | undefined)[];
  last: number;
}

interface ThresholdEntry {
  times: number[];
  /** The most recent events, kept as the finding's evidence (at most EVIDENCE_EVENTS). */
  recent: VmiEvent[];
  last: number;
}

/**
 * A node of the LRU list. A linked list rather than Map order: V8 maps that churn at the front
 * leave holes that make finding the oldest key slower and slower under a flood.
 */
interface LruNode {
  key: string;
  entry: SequenceEntry | ThresholdEntry;
  older: LruNode | undefined;
  newer: LruNode | undefined;
}

const EVIDENCE_EVENTS = 16;
const SWEEP_EVERY = 1024;

export class CorrelationState {
  /** Key to node; the nodes form a list from least to most recently touched. */
  private readonly entries = new Map<string, LruNode>();
  private oldest: LruNode | undefined;
  private newest: LruNode | undefined;
  /** Per step, the getters of its key fields. */
  private readonly getters: FieldGetter[][];
  private evicted = 0;
  private expired = 0;
  private unkeyed = 0;
  private sinceSweep = 0;

  constructor(readonly correlation: LoadedCorrelation) {
    this.getters = correlation.stepBy.map((fields) => fields.map((field) => fieldGetter(field)));
  }

  stats(): CorrelationStats {
    return {
      keys: this.entries.size,
      evicted: this.evicted,
      expired: this.expired,
      unkeyed: this.unkeyed,
    };
  }

  /** The key values of an event at a step, named by the sequence's `by`, for the finding's evidence. */
  keyOf(event: VmiEvent, step = 0): Record<string, unknown> {
    const key: Record<string, unknown> = {};
    const getters = this.getters[step] ?? this.getters[0]!;
    this.correlation.by.forEach((field, index) => (key[field] = getters[index]!(event)));
    return key;
  }

  private key(event: VmiEvent, step: number): string | undefined {
    let key = '';
    for (const get of this.getters[step]!) {
      const value = get(event);
      if (value === undefined || value === null) return undefined;
      key += `${typeof value === 'bigint' ? `0x${value.toString(16)}` : String(value)}\u0000`;
    }
    return key;
  }

  private unlink(node: LruNode): void {
    if (node.older === undefined) this.oldest = node.newer;
    else node.older.newer = node.newer;
    if (node.newer === undefined) this.newest = node.older;
    else node.newer.older = node.older;
    node.older = undefined;
    node.newer = undefined;
  }

  private remove(key: string): void {
    const node = this.entries.get(key);
    if (node === undefined) return;
    this.unlink(node);
    this.entries.delete(key);
  }

  /** Drops keys whose window has passed, oldest first; touch order follows event time. */
  private sweep(now: number): void {
    while (this.oldest !== undefined && now - this.oldest.entry.last > this.correlation.within) {
      this.remove(this.oldest.key);
      this.expired += 1;
    }
  }

  /** Marks the key most recently used, inserting it (and evicting the oldest beyond the cap). */
  private touch(key: string, entry: SequenceEntry | ThresholdEntry, now: number): void {
    entry.last = now;
    let node = this.entries.get(key);
    if (node !== undefined) {
      node.entry = entry;
      if (node === this.newest) return;
      this.unlink(node);
    } else {
      if (this.entries.size >= this.correlation.maxKeys && this.oldest !== undefined) {
        this.remove(this.oldest.key);
        this.evicted += 1;
      }
      node = { key, entry, older: undefined, newer: undefined };
      this.entries.set(key, node);
    }
    node.older = this.newest;
    if (this.newest !== undefined) this.newest.newer = node;
    this.newest = node;
    this.oldest ??= node;
  }

  private tick(now: number): void {
    this.sinceSweep += 1;
    if (this.sinceSweep >= SWEEP_EVERY) {
      this.sinceSweep = 0;
      this.sweep(now);
    }
  }

  /**
   * Feeds an event that matched `step`; returns the events of a completed sequence or threshold.
   * For one event matching several steps, call with the later steps first, so that one event never
   * counts as two steps.
   */
  advance(event: VmiEvent, step: number): VmiEvent[] | undefined {
    const now = event.time;
    this.tick(now);
    const key = this.key(event, this.correlation.kind === 'threshold' ? 0 : step);
    if (key === undefined) {
      this.unkeyed += 1;
      return undefined;
    }
    return this.correlation.kind === 'threshold'
      ? this.count(key, event, now)
      : this.sequence(key, event, step, now);
  }

  private sequence(
    key: string,
    event: VmiEvent,
    step: number,
    now: number,
  ): VmiEvent[] | undefined {
    const within = this.correlation.within;
    const last = this.correlation.steps.length - 1;
    let entry = this.entries.get(key)?.entry as SequenceEntry | undefined;
    if (entry !== undefined && now - entry.last > within) {
      this.remove(key);
      this.expired += 1;
      entry = undefined;
    }
    if (step === 0) {
      entry ??= { partials: new Array<Partial | undefined>(last).fill(undefined), last: now };
      entry.partials[0] = { start: now, events: [event] };
      this.touch(key, entry, now);
      return undefined;
    }
    const previous = entry?.partials[step - 1];
    if (entry === undefined || previous === undefined || now - previous.start > within)
      return undefined;
    const events = [...previous.events, event];
    if (step === last) {
      this.remove(key);
      return events;
    }
    const current = entry.partials[step];
    if (current === undefined || current.start <= previous.start)
      entry.partials[step] = { start: previous.start, events };
    this.touch(key, entry, now);
    return undefined;
  }

  private count(key: string, event: VmiEvent, now: number): VmiEvent[] | undefined {
    const { within, count } = this.correlation;
    let entry = this.entries.get(key)?.entry as ThresholdEntry | undefined;
    entry ??= { times: [], recent: [], last: now };
    entry.times.push(now);
    entry.recent.push(event);
    if (entry.recent.length > EVIDENCE_EVENTS) entry.recent.shift();
    let drop = 0;
    while (drop < entry.times.length && now - entry.times[drop]! > within) drop += 1;
    if (drop > 0) {
      entry.times.splice(0, drop);
      // Evidence events older than the window go too; `recent` holds the newest ones.
      const keep = Math.min(entry.recent.length, entry.times.length);
      entry.recent.splice(0, entry.recent.length - keep);
    }
    if (entry.times.length >= count) {
      this.remove(key);
      return entry.recent;
    }
    this.touch(key, entry, now);
    return undefined;
  }
}
