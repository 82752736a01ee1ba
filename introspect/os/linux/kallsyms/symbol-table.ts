// A SymbolTable over decoded kallsyms that creates no object per symbol: names are found with a
// string search, addresses with a binary search over a typed array. Kallsyms is sorted by address.
import type { KernelSymbol, SymbolTable } from '../profile/types.js';
import { addressOf, sortKeyOf, type KallsymsResult } from './reconstruct.js';

export class KallsymsSymbolTable implements SymbolTable {
  private materialised: KernelSymbol[] | undefined;
  private readonly order: Uint32Array;
  private readonly keys: Float64Array;
  private lookups = 0;
  /** Names already looked up (readers ask for the same few symbols again and again). */
  private readonly found = new Map<string, KernelSymbol | undefined>();
  private byName: Map<string, number[]> | undefined;

  constructor(private readonly table: KallsymsResult) {
    // Kallsyms is sorted by address in the kernel; sort an index anyway so that a tampered table
    // cannot break the binary search.
    const count = table.offsets.length;
    this.keys = new Float64Array(count);
    let sorted = true;
    for (let index = 0; index < count; index++) {
      this.keys[index] = sortKeyOf(table, index);
      if (index > 0 && this.keys[index - 1]! > this.keys[index]!) sorted = false;
    }
    this.order = Uint32Array.from({ length: count }, (_, index) => index);
    if (!sorted) this.order.sort((a, b) => this.keys[a]! - this.keys[b]!);
  }

  get size(): number {
    return this.table.offsets.length;
  }

  symbolAt(index: number): KernelSymbol {
    const start = this.table.starts[index]!;
    const end = this.table.names.indexOf('\n', start);
    return {
      name: this.table.names.slice(start, end),
      type: String.fromCharCode(this.table.types[index]!),
      address: addressOf(this.table, index),
    };
  }

  /** Every index whose name is exactly `name`. */
  private indexesOf(name: string): number[] {
    // A few look-ups search the names string; a caller that asks for many (an exporter) gets an index.
    if (this.byName) return this.byName.get(name) ?? [];
    if (++this.lookups > 64) {
      this.byName = new Map();
      for (let index = 0; index < this.table.starts.length; index++) {
        const start = this.table.starts[index]!;
        const key = this.table.names.slice(start, this.table.names.indexOf('\n', start));
        const list = this.byName.get(key);
        if (list) list.push(index);
        else this.byName.set(key, [index]);
      }
      return this.byName.get(name) ?? [];
    }
    const needle = `\n${name}\n`;
    const found: number[] = [];
    for (
      let at = this.table.names.indexOf(needle);
      at >= 0;
      at = this.table.names.indexOf(needle, at + 1)
    ) {
      found.push(this.indexOfStart(at + 1));
    }
    return found;
  }

  private indexOfStart(start: number): number {
    const starts = this.table.starts;
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >>> 1;
      if (starts[middle]! <= start) low = middle;
      else high = middle - 1;
    }
    return low;
  }

  symbol(name: string): KernelSymbol | undefined {
    if (this.found.has(name)) return this.found.get(name);
    const symbol = this.lookUp(name);
    this.found.set(name, symbol);
    return symbol;
  }

  private lookUp(name: string): KernelSymbol | undefined {
    const indexes = this.indexesOf(name);
    if (indexes.length === 0) return undefined;
    // Prefer a global symbol (upper-case type) when a static name repeats.
    const global = indexes.find((index) => {
      const type = this.table.types[index]!;
      return type >= 0x41 && type <= 0x5a;
    });
    return this.symbolAt(global ?? indexes[0]!);
  }

  address(name: string): bigint | undefined {
    return this.symbol(name)?.address;
  }

  nearest(address: bigint): { symbol: KernelSymbol; offset: bigint } | undefined {
    let low = 0;
    let high = this.order.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (addressOf(this.table, this.order[middle]!) <= address) {
        found = middle;
        low = middle + 1;
      } else high = middle - 1;
    }
    if (found < 0) return undefined;
    const symbol = this.symbolAt(this.order[found]!);
    return { symbol, offset: address - symbol.address };
  }

  /** The first symbol strictly above `address`. */
  next(address: bigint): KernelSymbol | undefined {
    let low = 0;
    let high = this.order.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (addressOf(this.table, this.order[middle]!) <= address) low = middle + 1;
      else high = middle;
    }
    return low < this.order.length ? this.symbolAt(this.order[low]!) : undefined;
  }

  offsetsFrom(base: bigint, types: string): Float64Array {
    const wanted = new Uint8Array(256);
    for (const letter of types) wanted[letter.charCodeAt(0) & 0xff] = 1;
    const { offsets, types: letters } = this.table;
    const { relativeBase, absolutePercpu } = this.table.location;
    // addressOf's three cases, in numbers: exact near `base` (kernel text), approximate far away.
    const fromBase = Number(relativeBase - base);
    const baseNumber = Number(base);
    const result = new Float64Array(this.order.length);
    let count = 0;
    for (const index of this.order) {
      if (!wanted[letters[index]!]) continue;
      const raw = offsets[index]!;
      result[count++] = !absolutePercpu
        ? fromBase + (raw >>> 0)
        : raw >= 0
          ? raw - baseNumber
          : fromBase - 1 - raw;
    }
    return result.subarray(0, count);
  }

  all(): readonly KernelSymbol[] {
    this.materialised ??= Array.from(this.order, (index) => this.symbolAt(index));
    return this.materialised;
  }
}
