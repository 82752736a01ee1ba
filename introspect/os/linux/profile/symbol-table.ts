// A sorted, immutable symbol table with name look-up and nearest-below search, shared by every symbol
// source (kallsyms, System.map, ISF).
import type { KernelSymbol, SymbolTable } from './types.js';

export class SortedSymbolTable implements SymbolTable {
  private readonly sorted: KernelSymbol[];
  private readonly byName = new Map<string, KernelSymbol>();

  constructor(symbols: Iterable<KernelSymbol>) {
    this.sorted = [...symbols].sort((a, b) =>
      a.address < b.address ? -1 : a.address > b.address ? 1 : 0,
    );
    for (const symbol of this.sorted) {
      // Prefer global symbols when a name repeats (static functions share names across files).
      const known = this.byName.get(symbol.name);
      if (known === undefined || (isLocal(known.type) && !isLocal(symbol.type))) {
        this.byName.set(symbol.name, symbol);
      }
    }
  }

  get size(): number {
    return this.sorted.length;
  }

  address(name: string): bigint | undefined {
    return this.byName.get(name)?.address;
  }

  symbol(name: string): KernelSymbol | undefined {
    return this.byName.get(name);
  }

  nearest(address: bigint): { symbol: KernelSymbol; offset: bigint } | undefined {
    let low = 0;
    let high = this.sorted.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.sorted[middle]!.address <= address) {
        found = middle;
        low = middle + 1;
      } else {
        high = middle - 1;
      }
    }
    if (found < 0) return undefined;
    const symbol = this.sorted[found]!;
    return { symbol, offset: address - symbol.address };
  }

  /** The first symbol strictly above `address` (gives a symbol's extent). */
  next(address: bigint): KernelSymbol | undefined {
    let low = 0;
    let high = this.sorted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.sorted[middle]!.address <= address) low = middle + 1;
      else high = middle;
    }
    return this.sorted[low];
  }

  all(): readonly KernelSymbol[] {
    return this.sorted;
  }
}

/** The address of the first symbol above `address`: the table's `next` where it has one, else a
 *  binary search over `all()` (sorted by address). */
export function nextSymbolAddress(symbols: SymbolTable, address: bigint): bigint | undefined {
  if (symbols.next) return symbols.next(address)?.address;
  const all = symbols.all();
  let low = 0;
  let high = all.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (all[middle]!.address <= address) low = middle + 1;
    else high = middle;
  }
  return all[low]?.address;
}

/** `offsetsFrom` of a table, or the same numbers from `all()` for a table without it. */
export function symbolOffsets(symbols: SymbolTable, base: bigint, types: string): Float64Array {
  if (symbols.offsetsFrom) return symbols.offsetsFrom(base, types);
  return Float64Array.from(
    symbols.all().filter((symbol) => symbol.type.length === 1 && types.includes(symbol.type)),
    (symbol) => Number(symbol.address - base),
  );
}

const isLocal = (type: string): boolean => type === type.toLowerCase();
