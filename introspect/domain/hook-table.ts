// The bookkeeping every backend needs for hooks: one planted hook per key (an address, a frame, a
// register) shared by every subscriber, planted with the first handler and removed after the last.
import type { HookContext } from './types.js';

export type HookHandler = (context: HookContext) => void;

export interface HookEntry {
  readonly handlers: Set<HookHandler>;
}

export class HookTable<Key, Entry extends HookEntry> {
  private readonly entries_ = new Map<Key, Entry>();

  /**
   * Adds `handler` under `key`. The first handler makes the entry with `create` (the backend plants
   * the hook there); the returned function removes the handler, and after the last one calls
   * `removed` with the entry (the backend takes the hook out).
   */
  add(
    key: Key,
    handler: HookHandler,
    create: () => Entry,
    removed: (entry: Entry) => void,
  ): { entry: Entry; created: boolean; remove: () => void } {
    let entry = this.entries_.get(key);
    const created = entry === undefined;
    if (!entry) {
      entry = create();
      this.entries_.set(key, entry);
    }
    entry.handlers.add(handler);
    const planted = entry;
    const remove = (): void => {
      planted.handlers.delete(handler);
      // An entry replaced meanwhile (a close cleared the table) is not this one to remove.
      if (planted.handlers.size === 0 && this.entries_.get(key) === planted) {
        this.entries_.delete(key);
        removed(planted);
      }
    };
    return { entry: planted, created, remove };
  }

  get(key: Key): Entry | undefined {
    return this.entries_.get(key);
  }

  /** The handlers of `key`'s hook (none when nothing is planted there). */
  handlers(key: Key): Iterable<HookHandler> {
    return this.entries_.get(key)?.handlers ?? [];
  }

  values(): IterableIterator<Entry> {
    return this.entries_.values();
  }

  entries(): IterableIterator<[Key, Entry]> {
    return this.entries_.entries();
  }

  keys(): IterableIterator<Key> {
    return this.entries_.keys();
  }

  get size(): number {
    return this.entries_.size;
  }

  delete(key: Key): void {
    this.entries_.delete(key);
  }

  clear(): void {
    this.entries_.clear();
  }
}
