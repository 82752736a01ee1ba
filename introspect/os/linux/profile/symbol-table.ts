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

const isLocal = (type: string): boolean => type === type.toLowerCase();
