// Builds x86-64 page tables in a byte buffer for tests: map 4 KiB, 2 MiB and 1 GiB pages at chosen
// virtual addresses, on 4- or 5-level paging. Tables are allocated from a bump allocator.
import { BufferMemory } from '../buffer-memory.js';
import type { X86PagingMode } from '../x86/paging.js';

export class PageTableBuilder {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private next: number;
  readonly root: bigint;

  /** `memory` is a size, or a buffer to share (tables inside a fake kernel's memory). */
  constructor(
    readonly mode: X86PagingMode,
    memory: number | Uint8Array = 4 << 20,
    tablesFrom = 0x1000,
  ) {
    this.bytes = typeof memory === 'number' ? new Uint8Array(memory) : memory;
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.next = tablesFrom;
    this.root = this.allocate();
  }

  allocate(): bigint {
    const table = this.next;
    this.next += 0x1000;
    if (this.next > this.bytes.length) throw new Error('page-table builder out of space');
    return BigInt(table);
  }

  entryAt(physical: bigint): bigint {
    return this.view.getBigUint64(Number(physical), true);
  }

  setEntry(physical: bigint, value: bigint): void {
    this.view.setBigUint64(Number(physical), value, true);
  }

  /** Maps `virtual` to `physical` with a page of `pageSize`; flags apply to the leaf (P is added). */
  map(virtual: bigint, physical: bigint, pageSize = 0x1000, flags = 0x3n): void {
    const leafShift = BigInt(Math.log2(pageSize));
    let table = this.root;
    for (const shift of this.mode.shifts) {
      const entryAddress = table + ((virtual >> BigInt(shift)) & 0x1ffn) * 8n;
      if (BigInt(shift) === leafShift) {
        const pageSizeBit = pageSize > 0x1000 ? 0x80n : 0n;
        this.setEntry(entryAddress, physical | flags | pageSizeBit | 1n);
        return;
      }
      let entry = this.entryAt(entryAddress);
      if ((entry & 1n) === 0n) {
        entry = this.allocate() | 0x7n;
        this.setEntry(entryAddress, entry);
      }
      table = entry & 0x000f_ffff_ffff_f000n;
    }
  }

  memory(): BufferMemory {
    return new BufferMemory(this.bytes);
  }

  reader(): (physical: bigint) => bigint | undefined {
    return (physical) =>
      physical + 8n <= BigInt(this.bytes.length)
        ? this.view.getBigUint64(Number(physical), true)
        : undefined;
  }
}
