import type { SymbolTable } from './types.js';
import { nextSymbolAddress, SortedSymbolTable, symbolOffsets } from './symbol-table.js';

const table = new SortedSymbolTable([
  { name: 'b', address: 0x2000n, type: 'T' },
  { name: 'a', address: 0x1000n, type: 'T' },
  { name: 'dup', address: 0x3000n, type: 't' },
  { name: 'dup', address: 0x4000n, type: 'T' },
]);

describe('SortedSymbolTable', () => {
  it('finds by name, preferring global symbols', () => {
    expect(table.address('a')).toBe(0x1000n);
    expect(table.address('dup')).toBe(0x4000n);
    expect(table.address('missing')).toBeUndefined();
  });
  it('finds the nearest symbol at or below an address', () => {
    expect(table.nearest(0x1fffn)).toEqual({ symbol: table.symbol('a'), offset: 0xfffn });
    expect(table.nearest(0x2000n)?.symbol.name).toBe('b');
    expect(table.nearest(0xfffn)).toBeUndefined();
  });
  it('finds the next symbol above an address', () => {
    expect(table.next(0x1000n)?.name).toBe('b');
    expect(table.next(0x4000n)).toBeUndefined();
  });
});

describe('symbol scans over any table', () => {
  // Only the interface's required methods: the helpers fall back to all().
  const plain: SymbolTable = {
    address: (name) => table.address(name),
    nearest: (address) => table.nearest(address),
    all: () => table.all(),
    size: table.size,
  };
  it('finds the address of the next symbol with or without next()', () => {
    for (const symbols of [table, plain]) {
      expect(nextSymbolAddress(symbols, 0n)).toBe(0x1000n);
      expect(nextSymbolAddress(symbols, 0x2000n)).toBe(0x3000n);
      expect(nextSymbolAddress(symbols, 0x4000n)).toBeUndefined();
    }
  });
  it('gives the offsets of the symbols of some types from all()', () => {
    expect(Array.from(symbolOffsets(plain, 0x1000n, 'T'))).toEqual([0, 0x1000, 0x3000]);
    expect(Array.from(symbolOffsets(plain, 0n, 't'))).toEqual([0x3000]);
  });
});
