import fc from 'fast-check';
import { isRingsideError } from '../../../errors.js';
import { reconstructKallsyms } from './reconstruct.js';
import { KallsymsSymbolTable } from './symbol-table.js';
import {
  buildKallsymsImage,
  type KallsymsLayout,
  type SyntheticSymbol,
} from './test-support/kallsyms-builder.js';

const BASE = 0xffff_ffff_8100_0000n;

function makeSymbols(count: number): SyntheticSymbol[] {
  const symbols: SyntheticSymbol[] = [
    { name: 'fixed_percpu_data', type: 'A', address: 0n },
    { name: 'cpu_number', type: 'D', address: 0x2_0000n },
  ];
  for (let index = 0; index < count; index++) {
    const name =
      index === 0
        ? '_text'
        : index === 7
          ? 'init_task'
          : index === 300
            ? `${'very_long_symbol_name_'.repeat(7)}end`
            : `__x64_sys_call_${index}_read_table`;
    symbols.push({
      name,
      type: index % 3 === 0 ? 'T' : 't',
      address: BASE + BigInt(index) * 0x40n,
    });
  }
  return symbols;
}

describe.each<KallsymsLayout>(['6.1', '6.1-seqs', '6.4'])(
  'kallsyms reconstruction, %s layout',
  (layout) => {
    const symbols = makeSymbols(700);
    const image = buildKallsymsImage(symbols, BASE, layout);

    it('recovers every name, type and address (absolute per-CPU and base-relative)', () => {
      const result = reconstructKallsyms(image);
      expect(result.location.relativeBase).toBe(BASE);
      expect(result.location.absolutePercpu).toBe(true);
      const table = new KallsymsSymbolTable(result);
      expect(table.size).toBe(symbols.length);
      expect(table.all()).toEqual(symbols);
    });

    it('answers look-ups by name and by address', () => {
      const table = new KallsymsSymbolTable(reconstructKallsyms(image));
      expect(table.address('init_task')).toBe(BASE + 7n * 0x40n);
      expect(table.address('cpu_number')).toBe(0x2_0000n);
      expect(table.nearest(BASE + 7n * 0x40n + 5n)).toEqual({
        symbol: { name: 'init_task', type: 't', address: BASE + 0x1c0n },
        offset: 5n,
      });
      expect(table.next(BASE)?.name).toBe('__x64_sys_call_1_read_table');
      expect(table.address('no_such_symbol')).toBeUndefined();
    });

    it('gives the offsets of the symbols of some types as all() would, without objects', () => {
      const table = new KallsymsSymbolTable(reconstructKallsyms(image));
      for (const base of [BASE, BASE + 0x1000n, BASE + 0x10_0000n]) {
        const expected = symbols
          .filter((symbol) => 'tT'.includes(symbol.type))
          .map((symbol) => Number(symbol.address - base));
        expect(Array.from(table.offsetsFrom(base, 'tT'))).toEqual(expected);
      }
      // The absolute per-CPU ones too, and none of another type.
      expect(Array.from(table.offsetsFrom(0n, 'AD'))).toEqual([0, 0x2_0000]);
      expect(table.offsetsFrom(BASE, 'b')).toHaveLength(0);
    });
  },
);

describe('kallsyms on hostile images', () => {
  const image = buildKallsymsImage(makeSymbols(600), BASE, '6.1-seqs');

  it('says clearly when there are no tables', () => {
    expect(() => reconstructKallsyms(new Uint8Array(1 << 16))).toThrow(/no kallsyms tables found/);
  });

  it('never hangs or crashes on corrupted tables: a Ringside error or a bounded table', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(image.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 24,
        }),
        (edits) => {
          const bytes = image.slice();
          for (const [at, value] of edits) bytes[at] = value;
          try {
            const result = reconstructKallsyms(bytes);
            expect(result.offsets.length).toBeLessThan(1 << 21);
          } catch (error) {
            expect(isRingsideError(error)).toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
