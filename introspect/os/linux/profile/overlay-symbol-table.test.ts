import { OverlaySymbolTable } from './overlay-symbol-table.js';
import { SortedSymbolTable } from './symbol-table.js';

describe('OverlaySymbolTable', () => {
  const base = new SortedSymbolTable([
    { name: '_stext', type: 'T', address: 0x1000n },
    { name: 'do_work', type: 't', address: 0x1100n },
    { name: 'sys_call_table', type: 'R', address: 0x9999n },
    { name: '_sinittext', type: 'T', address: 0x8000n },
  ]);
  const table = new OverlaySymbolTable(base, [
    { name: 'sys_call_table', type: 'R', address: 0x4000n },
    { name: 'init_task', type: 'D', address: 0x6000n },
  ]);

  it('prefers the extra symbols by name and keeps the others', () => {
    expect(table.address('sys_call_table')).toBe(0x4000n);
    expect(table.address('do_work')).toBe(0x1100n);
    expect(table.address('absent')).toBeUndefined();
    expect(table.size).toBe(6);
  });
  it('finds the nearest symbol below across both tables', () => {
    expect(table.nearest(0x4010n)).toMatchObject({
      symbol: { name: 'sys_call_table' },
      offset: 0x10n,
    });
    expect(table.nearest(0x1104n)).toMatchObject({ symbol: { name: 'do_work' }, offset: 4n });
    expect(table.nearest(0x10n)).toBeUndefined();
  });
  it('gives the next symbol above across both tables (a table’s extent)', () => {
    expect(table.next(0x4000n)?.name).toBe('init_task');
    expect(table.next(0x6000n)?.name).toBe('_sinittext');
    expect(table.all().map((symbol) => symbol.address)).toEqual([
      0x1000n,
      0x1100n,
      0x4000n,
      0x6000n,
      0x8000n,
      0x9999n,
    ]);
  });
});
