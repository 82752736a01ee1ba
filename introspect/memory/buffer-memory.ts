// Physical memory held in a byte array: for tests, fuzzing and small synthetic fixtures.
import { MemoryError } from '../errors.js';
import type { PhysicalMemory, PhysicalRange } from './types.js';

export class BufferMemory implements PhysicalMemory {
  constructor(
    readonly bytes: Uint8Array,
    readonly base = 0n,
    readonly name = 'buffer',
  ) {}

  ranges(): readonly PhysicalRange[] {
    return [{ start: this.base, end: this.base + BigInt(this.bytes.length) }];
  }

  readInto(address: bigint, target: Uint8Array): void {
    const end = this.base + BigInt(this.bytes.length);
    if (address < this.base || address + BigInt(target.length) > end) {
      const first = address < this.base || address >= end ? address : end;
      throw new MemoryError('no memory in the buffer', first, this.name);
    }
    const offset = Number(address - this.base);
    target.set(this.bytes.subarray(offset, offset + target.length));
  }

  close(): void {}
}
