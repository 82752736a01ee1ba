import { InputError } from '../../errors.js';
import {
  Arm64TableBuilder,
  encodeTcr,
  encodeTtbr,
  S1_AP_EL0,
  S1_AP_READ_ONLY,
  S1_KERNEL_RW,
  S1_PXN,
  S1_UXN,
} from '../test-support/arm64-table-builder.js';
import { GRANULE_16K, GRANULE_4K, GRANULE_64K, levelShift, type Granule } from './granule.js';
import { decodeStage1, translateArm64Stage1, type Arm64Stage1Regime } from './stage1.js';

interface Setup {
  regime: Arm64Stage1Regime;
  low: Arm64TableBuilder;
  high: Arm64TableBuilder;
  read: (address: bigint) => bigint | undefined;
}

/** Both halves with the same granule and size; TTBR1's tables follow TTBR0's in one buffer. */
function setup(
  granule: Granule,
  vaBits: number,
  extra: { ds?: boolean; ips?: number } = {},
): Setup {
  const regime = (ttbr0: bigint, ttbr1: bigint): Arm64Stage1Regime =>
    decodeStage1({
      tcr: encodeTcr({
        t0sz: 64 - vaBits,
        t1sz: 64 - vaBits,
        granule0: granule.size,
        granule1: granule.size,
        ips: extra.ips,
        ds: extra.ds,
      }),
      ttbr0,
      ttbr1,
    });
  const probe = regime(0n, 0n);
  const outputBits = probe.lower.outputBits;
  const bytes = new Uint8Array(16 << 20);
  const options = {
    granule,
    startLevel: probe.lower.startLevel,
    inputBits: vaBits,
    ds: extra.ds,
    outputBits,
    bytes,
  };
  const low = new Arm64TableBuilder({ ...options, tablesFrom: granule.size });
  const high = new Arm64TableBuilder({ ...options, tablesFrom: 8 << 20 });
  const read = low.reader();
  return {
    regime: regime(encodeTtbr(low.root, outputBits), encodeTtbr(high.root, outputBits) | 1n),
    low,
    high,
    read,
  };
}

const top = (vaBits: number): bigint => (1n << 64n) - (1n << BigInt(vaBits));

const CASES: [Granule, number, { ds?: boolean; ips?: number }][] = [
  [GRANULE_4K, 39, {}],
  [GRANULE_4K, 42, {}],
  [GRANULE_4K, 48, {}],
  [GRANULE_4K, 52, { ds: true, ips: 6 }],
  [GRANULE_16K, 36, {}],
  [GRANULE_16K, 42, {}],
  [GRANULE_16K, 47, {}],
  [GRANULE_16K, 48, {}],
  [GRANULE_16K, 52, { ds: true, ips: 6 }],
  [GRANULE_64K, 42, {}],
  [GRANULE_64K, 48, {}],
  [GRANULE_64K, 52, { ips: 6 }],
];

describe.each(CASES)('stage 1, %p-byte granule… ', (granule, vaBits, extra) => {
  const label = `${granule.size / 1024} KiB granule, ${vaBits}-bit VA`;
  const { regime, low, high, read } = setup(granule, vaBits, extra);
  const startLevel = regime.lower.startLevel;
  const page = BigInt(granule.size);
  const userVa = (1n << BigInt(vaBits - 1)) + 5n * page; // high in the TTBR0 range
  const kernelVa = top(vaBits) + 7n * page; // low in the TTBR1 range
  const wideOutput = extra.ips === 6 ? 0x000a_bcde_0000_0000n : 0x0000_8765_4000_0000n;
  low.map(userVa, 0x1234n * page, 3, S1_KERNEL_RW | S1_AP_EL0);
  high.map(kernelVa, wideOutput, 3);

  it(`${label}: starts at the architecture's level`, () => {
    const expected = 4 - Math.ceil((vaBits - granule.pageShift) / granule.stride);
    expect(startLevel).toBe(expected);
    expect(regime.upper.startLevel).toBe(expected);
  });

  it(`${label}: translates a TTBR0 page with its offset`, () => {
    expect(translateArm64Stage1(regime, userVa + 0x123n, read)).toMatchObject({
      ok: true,
      physical: 0x1234n * page + 0x123n,
      pageSize: granule.size,
      level: 3,
      user: true,
      writable: true,
    });
  });

  it(`${label}: translates a TTBR1 page, output address as wide as the regime allows`, () => {
    expect(translateArm64Stage1(regime, kernelVa + page - 1n, read)).toMatchObject({
      ok: true,
      physical: wideOutput + page - 1n,
      user: false,
      privilegedExecutable: true,
    });
  });

  const blockLevels = [
    ...(extra.ds || extra.ips === 6 ? granule.blockLevels52 : granule.blockLevels),
  ];
  it.each(blockLevels.filter((level) => level >= startLevel))(
    `${label}: translates a block at level %i`,
    (level) => {
      const size = 1n << BigInt(levelShift(granule, level));
      const va = top(vaBits) + (size > 1n << BigInt(vaBits - 2) ? 0n : size * 2n);
      const output = size * 3n;
      const blocks = setup(granule, vaBits, extra);
      blocks.high.map(va, output, level);
      const offset = size - 8n;
      expect(translateArm64Stage1(blocks.regime, va + offset, blocks.read)).toMatchObject({
        ok: true,
        physical: output + offset,
        pageSize: Number(size),
        level,
      });
    },
  );

  const levels = Array.from({ length: 4 - startLevel }, (_, index) => startLevel + index);
  it.each(levels)(`${label}: reports not-present at level %i`, (level) => {
    const faulty = setup(granule, vaBits, extra);
    const va = top(vaBits) + 11n * page;
    faulty.high.map(va, 0x4000_0000n, 3);
    const entry = faulty.high.entryAddress(va, level);
    faulty.high.setEntry(entry, faulty.high.entryAt(entry) & ~1n);
    expect(translateArm64Stage1(faulty.regime, va, faulty.read)).toEqual({
      ok: false,
      fault: 'not-present',
      level,
      entryAddress: entry,
      entry: faulty.high.entryAt(entry),
      stage: 1,
    });
  });

  it.each(levels.slice(1))(`${label}: reports an unreadable table at level %i`, (level) => {
    const faulty = setup(granule, vaBits, extra);
    const va = 3n * page;
    faulty.low.map(va, 0x4000_0000n, 3);
    const pointer = faulty.low.entryAddress(va, level - 1);
    // A table beyond the buffer: the reader cannot read it.
    faulty.low.setEntry(pointer, faulty.low.encodeAddress(1n << 40n) | 3n);
    expect(translateArm64Stage1(faulty.regime, va, faulty.read)).toMatchObject({
      ok: false,
      fault: 'unreadable-table',
      level,
    });
  });

  it(`${label}: a level-3 descriptor with bits 1:0 = 01 is reserved`, () => {
    const faulty = setup(granule, vaBits, extra);
    const entry = faulty.low.map(page, 0x10_0000n, 3);
    faulty.low.setEntry(entry, faulty.low.entryAt(entry) & ~2n);
    expect(translateArm64Stage1(faulty.regime, page, faulty.read)).toMatchObject({
      ok: false,
      fault: 'reserved-bits',
      level: 3,
    });
  });

  it(`${label}: a block where the granule allows none is reserved`, () => {
    const faulty = setup(granule, vaBits, extra);
    const entry = faulty.low.entryAddress(page, startLevel);
    faulty.low.setEntry(entry, 1n | S1_KERNEL_RW);
    const allowed = blockLevels.includes(startLevel);
    expect(translateArm64Stage1(faulty.regime, page, faulty.read)).toMatchObject(
      allowed
        ? { ok: true, level: startLevel }
        : { ok: false, fault: 'reserved-bits', level: startLevel },
    );
  });

  it(`${label}: addresses between the halves are outside the VA range`, () => {
    const hole = 1n << BigInt(vaBits);
    expect(translateArm64Stage1(regime, hole, read)).toMatchObject({
      ok: false,
      fault: 'outside-va-range',
      level: startLevel,
    });
    expect(translateArm64Stage1(regime, top(vaBits) - page, read)).toMatchObject({
      fault: 'outside-va-range',
    });
  });
});

describe('stage 1 output-address sizes', () => {
  it('faults an output address wider than IPS (address-size fault at the leaf level)', () => {
    const { regime, high, read } = setup(GRANULE_4K, 48, { ips: 2 }); // 40-bit PA
    high.map(top(48), 1n << 41n, 3);
    expect(translateArm64Stage1(regime, top(48), read)).toMatchObject({
      ok: false,
      fault: 'address-size',
      level: 3,
    });
  });
  it('faults a table address wider than IPS at the level of the table descriptor', () => {
    const { regime, high, read } = setup(GRANULE_4K, 48, { ips: 2 });
    high.map(top(48), 0x1000n, 3);
    const entry = high.entryAddress(top(48), 1);
    high.setEntry(entry, (1n << 44n) | 3n);
    expect(translateArm64Stage1(regime, top(48), read)).toMatchObject({
      fault: 'address-size',
      level: 1,
    });
  });
  it('keeps 4K and 16K output addresses to 48 bits without DS, even with IPS = 52', () => {
    const regime = decodeStage1({
      tcr: encodeTcr({ t0sz: 16, t1sz: 16, granule0: 4096, granule1: 16384, ips: 6 }),
      ttbr0: 0n,
      ttbr1: 0n,
    });
    expect(regime.lower.outputBits).toBe(48);
    expect(regime.upper.outputBits).toBe(48);
  });
});

describe('stage 1 permissions', () => {
  const va = 0x40_0000n;
  const build = (attributes: bigint, tableBits: bigint[] = [], hpd = false) => {
    const regimeOf = (root: bigint): Arm64Stage1Regime =>
      decodeStage1({
        tcr: encodeTcr({ t0sz: 16, t1sz: 16, granule0: 4096, granule1: 4096, hpd0: hpd }),
        ttbr0: root,
        ttbr1: 0n,
      });
    const tables = new Arm64TableBuilder({ granule: GRANULE_4K, startLevel: 0, inputBits: 48 });
    tables.map(va, 0x9000n, 3, attributes);
    tableBits.forEach((bits, level) => tables.setTableBits(va, level, bits));
    return translateArm64Stage1(regimeOf(tables.root), va, tables.reader());
  };

  it('reads AP[2:1]: EL0 access and read-only', () => {
    expect(build(S1_KERNEL_RW | S1_AP_EL0 | S1_AP_READ_ONLY)).toMatchObject({
      user: true,
      writable: false,
      privilegedExecutable: true,
      unprivilegedExecutable: true,
    });
  });
  it('reads UXN and PXN separately', () => {
    expect(build(S1_KERNEL_RW | S1_AP_EL0 | S1_AP_READ_ONLY | S1_UXN)).toMatchObject({
      privilegedExecutable: true,
      unprivilegedExecutable: false,
      executable: true,
    });
    expect(build(S1_KERNEL_RW | S1_PXN | S1_UXN)).toMatchObject({ executable: false });
  });
  it('makes memory writable at EL0 never executable at EL1', () => {
    expect(build(S1_KERNEL_RW | S1_AP_EL0)).toMatchObject({
      user: true,
      writable: true,
      privilegedExecutable: false,
      unprivilegedExecutable: true,
    });
  });
  it('applies APTable, UXNTable and PXNTable from any level', () => {
    const limits = [1n << 61n, 1n << 62n, (1n << 59n) | (1n << 60n)];
    expect(build(S1_KERNEL_RW | S1_AP_EL0, limits)).toMatchObject({
      ok: true,
      user: false,
      writable: false,
      executable: false,
    });
  });
  it('ignores table attributes with hierarchical permissions disabled (HPD)', () => {
    const limits = [1n << 61n, 1n << 62n, (1n << 59n) | (1n << 60n)];
    expect(build(S1_KERNEL_RW | S1_AP_EL0 | S1_AP_READ_ONLY, limits, true)).toMatchObject({
      user: true,
      executable: true,
    });
  });
  it('reports a clear access flag without faulting (the mapping is valid)', () => {
    expect(build(S1_KERNEL_RW & ~(1n << 10n))).toMatchObject({ ok: true, accessFlag: false });
  });
});

describe('TCR_EL1 decoding', () => {
  const base = { t0sz: 25, t1sz: 25, granule0: 4096, granule1: 4096 };

  it('gives each half its own granule and size', () => {
    const regime = decodeStage1({
      tcr: encodeTcr({ t0sz: 16, t1sz: 22, granule0: 65536, granule1: 16384 }),
      ttbr0: 0x10000n,
      ttbr1: 0x2_4000n,
    });
    expect(regime.lower).toMatchObject({ inputBits: 48, startLevel: 1, tableBase: 0x10000n });
    expect(regime.upper).toMatchObject({ inputBits: 42, startLevel: 1, tableBase: 0x2_4000n });
    expect(regime.lower.granule).toBe(GRANULE_64K);
    expect(regime.upper.granule).toBe(GRANULE_16K);
  });
  it('drops ASID and CnP from TTBR and reads BADDR[51:48] from bits 5:2 with 52-bit output', () => {
    const asid = 0x42n << 48n;
    expect(
      decodeStage1({ tcr: encodeTcr(base), ttbr0: asid | 0x8_1000n | 1n, ttbr1: 0n }).lower
        .tableBase,
    ).toBe(0x8_1000n);
    const wide = decodeStage1({
      tcr: encodeTcr({ ...base, t0sz: 12, granule0: 65536, ips: 6 }),
      ttbr0: encodeTtbr(0x3_0000_0001_0000n, 52),
      ttbr1: 0n,
    });
    expect(wide.lower.tableBase).toBe(0x3_0000_0001_0000n);
  });
  it('faults every address of a half whose walks are disabled (EPD)', () => {
    const regime = decodeStage1({ tcr: encodeTcr({ ...base, epd0: true }), ttbr0: 0n, ttbr1: 0n });
    expect(translateArm64Stage1(regime, 0x1000n, () => 0n)).toMatchObject({
      ok: false,
      fault: 'not-present',
    });
  });
  it('ignores the top byte with TBI and checks it without', () => {
    const tables = new Arm64TableBuilder({ granule: GRANULE_4K, startLevel: 1, inputBits: 39 });
    tables.map(0x1000n, 0x7000n);
    const tagged = (0x5an << 56n) | 0x1000n;
    const withTbi = decodeStage1({
      tcr: encodeTcr({ ...base, tbi0: true }),
      ttbr0: tables.root,
      ttbr1: 0n,
    });
    const withoutTbi = decodeStage1({ tcr: encodeTcr(base), ttbr0: tables.root, ttbr1: 0n });
    expect(translateArm64Stage1(withTbi, tagged, tables.reader())).toMatchObject({
      ok: true,
      physical: 0x7000n,
    });
    expect(translateArm64Stage1(withoutTbi, tagged, tables.reader())).toMatchObject({
      fault: 'outside-va-range',
    });
  });
  it.each([
    [{ ...base, t0sz: 13 }, /T0SZ=13 gives a 51-bit address range/],
    [{ ...base, t1sz: 12, granule1: 16384 }, /T1SZ=12 gives a 52-bit/],
    [{ ...base, ips: 7 }, /IPS=7 is reserved/],
  ])('rejects %o, naming TCR_EL1', (fields, message) => {
    const call = () => decodeStage1({ tcr: encodeTcr(fields), ttbr0: 0n, ttbr1: 0n });
    expect(call).toThrow(InputError);
    expect(call).toThrow(message);
    expect(call).toThrow(/TCR_EL1=0x/);
  });
  it('rejects the reserved TG1 encoding', () => {
    const tcr = encodeTcr(base) & ~(3n << 30n);
    expect(() => decodeStage1({ tcr, ttbr0: 0n, ttbr1: 0n })).toThrow(/TG1=0 is reserved/);
  });
});
