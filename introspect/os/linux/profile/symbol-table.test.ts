import { SortedSymbolTable } from './symbol-table.js';

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
