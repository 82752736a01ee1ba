// A hash index from type name to type ids, built straight from the name bytes of the string
// section: no string is decoded to build it, which keeps the first look-up in a 100k-type BTF to a
// few milliseconds. Chains are kept in id order.

import { BTF_MAX_NAME_LENGTH } from './format.js';

const textEncoder = new TextEncoder();

export class BtfNameIndex {
  private readonly heads: Int32Array;
  private readonly next: Int32Array;
  private readonly mask: number;

  /**
   * @param nameOffsetOf absolute byte offset of the name of an id in `bytes`, or -1 to leave the
   *   id out of the index.
   */
  constructor(
    private readonly bytes: Uint8Array,
    private readonly stringEnd: number,
    count: number,
    private readonly nameOffsetOf: (id: number) => number,
  ) {
    let size = 1024;
    while (size < count * 2) size *= 2;
    this.mask = size - 1;
    this.heads = new Int32Array(size).fill(-1);
    this.next = new Int32Array(count).fill(-1);
    for (let id = count - 1; id >= 1; id--) {
      const start = nameOffsetOf(id);
      if (start < 0) continue;
      const slot = this.hashAt(start) & this.mask;
      this.next[id] = this.heads[slot]!;
      this.heads[slot] = id;
    }
  }

  /** Ids whose name is exactly `name`, in id order. */
  lookup(name: string): number[] {
    const needle = textEncoder.encode(name);
    if (needle.length === 0 || needle.length > BTF_MAX_NAME_LENGTH) return [];
    let hash = 0x811c9dc5;
    for (const byte of needle) hash = Math.imul(hash ^ byte, 0x01000193);
    const found: number[] = [];
    for (let id = this.heads[hash & this.mask]!; id >= 0; id = this.next[id]!) {
      if (this.matches(this.nameOffsetOf(id), needle)) found.push(id);
    }
    return found;
  }

  private hashAt(start: number): number {
    const bytes = this.bytes;
    let hash = 0x811c9dc5;
    // Names longer than the limit cannot match a look-up (see `lookup`), so hashing a prefix is
    // enough, and a hostile section without NULs costs at most the limit per type.
    const limit = Math.min(this.stringEnd, start + BTF_MAX_NAME_LENGTH + 1);
    for (let position = start; position < limit; position++) {
      const byte = bytes[position]!;
      if (byte === 0) break;
      hash = Math.imul(hash ^ byte, 0x01000193);
    }
    return hash;
  }

  private matches(start: number, needle: Uint8Array): boolean {
    const end = start + needle.length;
    if (end >= this.stringEnd) return false;
    const bytes = this.bytes;
    for (let index = 0; index < needle.length; index++) {
      if (bytes[start + index] !== needle[index]) return false;
    }
    return bytes[end] === 0;
  }
}
