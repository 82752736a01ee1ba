// One partition of the fleet's events run through the rules by the worker that owns it: takes the
// partition over from its durable consumer's ack floor, replays a correlation window before it for state, acks in batches.
import {
  AckPolicy,
  DeliverPolicy,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Finding } from '../../introspect/events/finding.js';
import { decodeTraceEvent } from '../../introspect/events/trace.js';
import { Detector, type RuleEngine } from '../../rules/index.js';
import { silentLog, type SinkLog } from '../../sinks/log.js';
import { takeOverDurable, type FloorMemo } from './durable-takeover.js';
import { unpackEvents } from './event-batch.js';
import { partitionConsumer, partitionFilter } from './partitions.js';
import { EVENTS_STREAM, parseSubject } from './subjects.js';

/**
 * Messages one partition pulls ahead: a message may be a batch of up to 1024 events, so a deep pull
 * would hold a great many events in memory (nats-server 2.9 delivered nothing to a pull bounded in bytes).
 */
const PULL_MESSAGES = 256;
/** Handling time after which a partition's loop lets timers and I/O run. */
const YIELD_AFTER_MS = 10;

export interface PartitionOptions {
  group: string;
  partition: number;
  engine: RuleEngine;
  /**
   * How far before the ack floor a takeover replays events (stream time, ms) to rebuild the
   * correlations' state; their findings are not published again. 0 without correlation rules.
   */
  warmupMs: number;
  /** Publishes one finding (its id as Nats-Msg-Id); the event is acked once it resolved. */
  publish: (finding: Finding, host: string, guest: string) => Promise<unknown>;
  /** Ack after this many events, or after ackIntervalMs, whichever first. */
  ackEvery: number;
  ackIntervalMs: number;
  maxAckPending: number;
  /** Called per event handled (stats) and per finding published. */
  onEvent?: (published: number) => void;
  onRejected?: () => void;
  /** Floors of takeovers not finished yet, kept by the owner across retries (durable-takeover.ts). */
  floors?: FloorMemo;
  log?: SinkLog;
}

export class PartitionConsumer {
  /** The detectors of this partition's guests (correlations never mix two guests). */
  private readonly detectors = new Map<string, Detector>();
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Last event handled and not yet acked; publishes its findings are waiting for. */
  private unacked: JsMsg | undefined;
  private sinceAck = 0;
  private publishes: Promise<unknown>[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private floor = 0;
  /** Set when a publish or an ack failed: the owner restarts the partition from its ack floor. */
  failed: Error | undefined;
  private stopped = false;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    readonly options: PartitionOptions,
  ) {}

  get name(): string {
    return partitionConsumer(this.options.group, this.options.partition);
  }

  /**
   * Takes the partition over: the consumer is re-created at the last owner's ack floor (so events it
   * held unacked come at once, not after the ack wait), starting `warmupMs` earlier for state.
   */
  async start(): Promise<void> {
    const { jsm } = this;
    const floors = this.options.floors ?? new Map<string, number>();
    this.floor = (await takeOverDurable(jsm, EVENTS_STREAM, this.name, floors)).floor;
    const config: Partial<ConsumerConfig> = {
      durable_name: this.name,
      ack_policy: AckPolicy.All,
      filter_subject: partitionFilter(this.options.partition),
      ack_wait: nanos(30_000),
      max_ack_pending: this.options.maxAckPending,
      ...(await this.startAt()),
    };
    await jsm.consumers.add(EVENTS_STREAM, config);
    floors.delete(this.name);
    const consumer = await this.js.consumers.get(EVENTS_STREAM, this.name);
    this.messages = await consumer.consume({ max_messages: PULL_MESSAGES });
    this.timer = setInterval(() => {
      if (this.unacked) void this.flush();
    }, this.options.ackIntervalMs);
    this.loop = this.run(this.messages);
  }

  private async startAt(): Promise<Partial<ConsumerConfig>> {
    if (this.floor === 0) return { deliver_policy: DeliverPolicy.All };
    const after = { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.floor + 1 };
    if (this.options.warmupMs <= 0) return after;
    // null when the message is gone; a timeout is thrown (the takeover is retried).
    const last = await this.jsm.streams.getMessage(EVENTS_STREAM, { seq: this.floor });
    // The last acked event aged out of the stream: nothing earlier is left to replay either.
    if (!last) return after;
    return {
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(last.time.getTime() - this.options.warmupMs).toISOString(),
    };
  }

  private detectorOf(host: string, guest: string): Detector {
    const key = `${host}.${guest}`;
    let detector = this.detectors.get(key);
    if (!detector) {
      detector = new Detector(this.options.engine);
      this.detectors.set(key, detector);
    }
    return detector;
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    let worked = performance.now();
    for await (const message of messages) {
      // Messages already pulled come one after another as microtasks: without a turn of the event
      // loop now and then, timers (the leases' renewals) would wait for the whole pull.
      if (performance.now() - worked > YIELD_AFTER_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        worked = performance.now();
      }
      if (this.stopped) break;
      const where = parseSubject(message.subject);
      const host = where?.host ?? 'unknown';
      // Events up to the floor only rebuild state: their findings were published by the last owner.
      const replayed = message.seq <= this.floor;
      // One message carries one event or a batch of one guest's events, in order.
      for (const json of unpackEvents(message.subject, message.string()))
        this.handle(json, message.subject, host, where?.guest, replayed);
      this.markHandled(message);
    }
  }

  private handle(
    json: string,
    subject: string,
    host: string,
    subjectGuest: string | undefined,
    replayed: boolean,
  ): void {
    let event;
    try {
      event = decodeTraceEvent(json, subject);
    } catch (error) {
      (this.options.log ?? silentLog).warn('not an event, skipped', {
        subject,
        error: (error as Error).message,
      });
      this.options.onRejected?.();
      return;
    }
    const guest = subjectGuest ?? event.domain;
    let published = 0;
    this.detectorOf(host, guest).process(event, (finding) => {
      if (replayed) return;
      published += 1;
      this.publishes.push(
        this.options.publish(finding, host, guest).catch((error: unknown) => {
          this.failed ??= error instanceof Error ? error : new Error(String(error));
        }),
      );
    });
    this.options.onEvent?.(published);
  }

  private markHandled(message: JsMsg): void {
    this.unacked = message;
    this.sinceAck += 1;
    if (this.sinceAck >= this.options.ackEvery) void this.flush();
  }

  /** Acks the last handled event (and so every one before it) once its findings are stored. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const message = this.unacked;
      const publishes = this.publishes;
      if (!message || this.failed) return;
      this.unacked = undefined;
      this.sinceAck = 0;
      this.publishes = [];
      try {
        await Promise.all(publishes);
        // A finding not stored: the event must come again, so nothing from here on is acked.
        if (this.failed) return;
        // Acking a replayed event is harmless (below the floor already).
        await message.ackAck();
      } catch (error) {
        this.failed = error instanceof Error ? error : new Error(String(error));
      }
    });
    return this.flushing;
  }

  /** Stops taking events; what was handled is acked (its findings stored) before this resolves. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.messages?.close();
    await this.loop?.catch(() => undefined);
    await this.flush();
  }
}
