import fc from 'fast-check';
import { PageTableBuilder } from '../test-support/page-table-builder.js';
import { isCanonical, translateX86, X86_64_4LEVEL, X86_64_5LEVEL } from './paging.js';

const KERNEL = 0xffff_ffff_8100_0000n;

describe('translateX86, 4-level', () => {
  const tables = new PageTableBuilder(X86_64_4LEVEL);
  tables.map(0x40_1000n, 0x20_0000n); // user 4 KiB
  tables.map(KERNEL, 0x4000_0000n, 0x20_0000, 0x3n | (1n << 63n)); // 2 MiB, NX
  tables.map(0xffff_8880_0000_0000n, 0n, 0x4000_0000); // 1 GiB direct map
  const read = tables.reader();

  it('translates a 4 KiB page with its offset', () => {
    expect(translateX86(X86_64_4LEVEL, tables.root, 0x40_1234n, read)).toMatchObject({
      ok: true,
      physical: 0x20_0234n,
      pageSize: 4096,
      writable: true,
      executable: true,
    });
  });
  it('translates a 2 MiB page and reports NX', () => {
    expect(translateX86(X86_64_4LEVEL, tables.root, KERNEL + 0x12_3456n, read)).toMatchObject({
      ok: true,
      physical: 0x4012_3456n,
      pageSize: 0x20_0000,
      executable: false,
    });
  });
  it('translates a 1 GiB page', () => {
    expect(translateX86(X86_64_4LEVEL, tables.root, 0xffff_8880_3fff_fff8n, read)).toMatchObject({
      ok: true,
      physical: 0x3fff_fff8n,
      pageSize: 0x4000_0000,
    });
  });
  it('rejects non-canonical addresses', () => {
    expect(translateX86(X86_64_4LEVEL, tables.root, 0x0000_8000_0000_0000n, read)).toMatchObject({
      ok: false,
      fault: 'non-canonical',
    });
    expect(isCanonical(0xffff_8000_0000_0000n, 48)).toBe(true);
    expect(isCanonical(0xfff0_8000_0000_0000n, 48)).toBe(false);
  });
  it.each([
    [4, 0x7f00_0000_0000n],
    [3, 0x40_0000_0000n + 0x1000n],
    [2, 0x60_0000n],
    [1, 0x40_3000n],
  ])('reports not-present at level %i', (level, address) => {
    expect(translateX86(X86_64_4LEVEL, tables.root, address, read)).toMatchObject({
      ok: false,
      fault: 'not-present',
      level,
    });
  });
  it('reports an unreadable table', () => {
    const broken = new PageTableBuilder(X86_64_4LEVEL, 0x4000);
    broken.setEntry(broken.root, 0x7fff_f000n | 0x7n);
    expect(translateX86(X86_64_4LEVEL, broken.root, 0x1000n, broken.reader())).toMatchObject({
      ok: false,
      fault: 'unreadable-table',
      level: 3,
    });
  });
  it('rejects reserved bits in a large-page entry', () => {
    const bad = new PageTableBuilder(X86_64_4LEVEL);
    bad.map(0x20_0000n, 0x20_0000n | 0x2000n, 0x20_0000);
    expect(translateX86(X86_64_4LEVEL, bad.root, 0x20_0000n, bad.reader())).toMatchObject({
      ok: false,
      fault: 'reserved-bits',
      level: 2,
    });
  });
  it('rejects PS at the top level', () => {
    const bad = new PageTableBuilder(X86_64_4LEVEL);
    bad.setEntry(bad.root, 0x83n);
    expect(translateX86(X86_64_4LEVEL, bad.root, 0x1000n, bad.reader())).toMatchObject({
      fault: 'reserved-bits',
      level: 4,
    });
  });
  it('ANDs writable and user across levels', () => {
    const ro = new PageTableBuilder(X86_64_4LEVEL);
    ro.map(0x1000n, 0x5000n, 0x1000, 0x1n); // read-only, supervisor leaf
    expect(translateX86(X86_64_4LEVEL, ro.root, 0x1000n, ro.reader())).toMatchObject({
      ok: true,
      writable: false,
      user: false,
    });
  });
});

describe('translateX86, 5-level', () => {
  it('translates 57-bit addresses and checks canonicality at 57 bits', () => {
    const tables = new PageTableBuilder(X86_64_5LEVEL);
    const high = 0xff11_0000_0000_0000n; // only canonical with LA57
    tables.map(high, 0x30_0000n);
    expect(translateX86(X86_64_5LEVEL, tables.root, high + 0x10n, tables.reader())).toMatchObject({
      ok: true,
      physical: 0x30_0010n,
    });
    expect(translateX86(X86_64_4LEVEL, tables.root, high, tables.reader())).toMatchObject({
      fault: 'non-canonical',
    });
    expect(translateX86(X86_64_5LEVEL, tables.root, 0x1000n, tables.reader())).toMatchObject({
      fault: 'not-present',
      level: 5,
    });
  });
});

describe('translateX86 properties', () => {
  const canonical48 = fc
    .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: (1n << 35n) - 1n }))
    .map(([high, page]) => (high ? 0xffff_8000_0000_0000n | (page << 12n) : page << 12n));

  it('translates every mapped 4 KiB page to where it was mapped', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(canonical48, { minLength: 1, maxLength: 20, selector: (va) => va >> 12n }),
        fc.bigInt({ min: 0n, max: 0xfffn }),
        (pages, offset) => {
          const tables = new PageTableBuilder(X86_64_4LEVEL, 1 << 20);
          pages.forEach((va, index) => tables.map(va, BigInt(0x100000 + index * 0x1000)));
          pages.forEach((va, index) => {
            const result = translateX86(X86_64_4LEVEL, tables.root, va | offset, tables.reader());
            expect(result).toMatchObject({
              ok: true,
              physical: BigInt(0x100000 + index * 0x1000) | offset,
            });
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never throws and always answers on arbitrary table contents (hostile memory)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0x2000, maxLength: 0x2000 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.bigInt({ min: 0n, max: 0x1fffn }),
        (bytes, address, root) => {
          const view = new DataView(bytes.buffer);
          const read = (pa: bigint): bigint | undefined =>
            pa + 8n <= BigInt(bytes.length) ? view.getBigUint64(Number(pa), true) : undefined;
          for (const mode of [X86_64_4LEVEL, X86_64_5LEVEL]) {
            const result = translateX86(mode, root, address, read);
            expect(typeof result.ok).toBe('boolean');
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
