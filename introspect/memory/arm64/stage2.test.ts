import { InputError } from '../../errors.js';
import {
  Arm64TableBuilder,
  encodeVtcr,
  encodeTtbr,
  S2_READ_WRITE,
} from '../test-support/arm64-table-builder.js';
import { GRANULE_16K, GRANULE_4K, GRANULE_64K, levelShift, type Granule } from './granule.js';
import { decodeStage2, translateArm64Stage2 } from './stage2.js';

// [granule, SL0, IPA bits, expected start level, expected concatenated tables]
const CASES: [Granule, number, number, number, number][] = [
  [GRANULE_4K, 0, 30, 2, 1],
  [GRANULE_4K, 1, 40, 1, 2], // the usual KVM layout: 40-bit IPA, two level-1 tables
  [GRANULE_4K, 1, 43, 1, 16],
  [GRANULE_4K, 2, 48, 0, 1],
  [GRANULE_16K, 1, 36, 2, 1],
  [GRANULE_16K, 2, 42, 1, 1],
  [GRANULE_16K, 1, 40, 2, 16],
  [GRANULE_64K, 1, 42, 2, 1],
  [GRANULE_64K, 2, 48, 1, 1],
  [GRANULE_64K, 1, 44, 2, 4],
];

describe.each(CASES)('stage 2 (%#)', (granule, sl0, ipaBits, startLevel, concatenated) => {
  const label = `${granule.size / 1024} KiB, SL0=${sl0}, ${ipaBits}-bit IPA`;
  const make = () => {
    const tables = new Arm64TableBuilder({ granule, startLevel, inputBits: ipaBits });
    const regime = decodeStage2({
      vtcr: encodeVtcr({ t0sz: 64 - ipaBits, granule: granule.size, sl0 }),
      vttbr: encodeTtbr(tables.root) | (0x7n << 48n), // VMID in the top bits
    });
    return { tables, regime };
  };
  const page = BigInt(granule.size);
  // The last page of the IPA space: it lies in the last of the concatenated tables.
  const ipa = (1n << BigInt(ipaBits)) - page;

  it(`${label}: decodes start level ${startLevel} and ${concatenated} concatenated table(s)`, () => {
    const { regime, tables } = make();
    expect(regime).toMatchObject({
      startLevel,
      inputBits: ipaBits,
      concatenatedTables: concatenated,
    });
    expect(regime.tableBase).toBe(tables.root);
  });

  it(`${label}: translates the last page of the IPA space`, () => {
    const { regime, tables } = make();
    tables.map(ipa, 0x7654n * page, 3, S2_READ_WRITE);
    expect(translateArm64Stage2(regime, ipa + 9n, tables.reader())).toMatchObject({
      ok: true,
      physical: 0x7654n * page + 9n,
      readable: true,
      writable: true,
      executable: true,
    });
  });

  it(`${label}: translates a block at level 2`, () => {
    const { regime, tables } = make();
    const size = 1n << BigInt(levelShift(granule, 2));
    tables.map(size, size * 5n, 2, S2_READ_WRITE);
    expect(translateArm64Stage2(regime, size + size / 2n, tables.reader())).toMatchObject({
      ok: true,
      physical: size * 5n + size / 2n,
      level: 2,
      pageSize: Number(size),
    });
  });

  const levels = Array.from({ length: 4 - startLevel }, (_, index) => startLevel + index);
  it.each(levels)(`${label}: reports not-present at level %i, stage 2`, (level) => {
    const { regime, tables } = make();
    tables.map(ipa, 0x10000n, 3, S2_READ_WRITE);
    const entry = tables.entryAddress(ipa, level);
    tables.setEntry(entry, tables.entryAt(entry) & ~1n);
    expect(translateArm64Stage2(regime, ipa, tables.reader())).toMatchObject({
      ok: false,
      fault: 'not-present',
      level,
      entryAddress: entry,
      stage: 2,
    });
  });

  it(`${label}: an IPA beyond the IPA size is outside the range`, () => {
    const { regime, tables } = make();
    expect(translateArm64Stage2(regime, 1n << BigInt(ipaBits), tables.reader())).toMatchObject({
      ok: false,
      fault: 'outside-va-range',
      level: startLevel,
      stage: 2,
    });
  });
});

describe('stage 2 permissions', () => {
  const translateWith = (attributes: bigint) => {
    const tables = new Arm64TableBuilder({ granule: GRANULE_4K, startLevel: 1, inputBits: 40 });
    tables.map(0x4000_0000n, 0x8000_0000n, 3, attributes);
    const regime = decodeStage2({
      vtcr: encodeVtcr({ t0sz: 24, granule: 4096, sl0: 1 }),
      vttbr: tables.root,
    });
    return translateArm64Stage2(regime, 0x4000_0000n, tables.reader());
  };
  const AF = 1n << 10n;

  it('reads S2AP: read and write separately', () => {
    expect(translateWith(AF | (1n << 6n))).toMatchObject({ readable: true, writable: false });
    expect(translateWith(AF | (1n << 7n))).toMatchObject({ readable: false, writable: true });
  });
  it.each([
    [0n, true, true],
    [1n, false, true],
    [2n, false, false],
    [3n, true, false],
  ])('reads XN[1:0]=%i (FEAT_XNX): EL1 %p, EL0 %p', (xn, el1, el0) => {
    expect(translateWith(S2_READ_WRITE | (xn << 53n))).toMatchObject({
      privilegedExecutable: el1,
      unprivilegedExecutable: el0,
    });
  });
});

describe('VTCR_EL2 decoding', () => {
  it('supports the FEAT_LPA2 start level -1 (4K, DS and SL2)', () => {
    const regime = decodeStage2({
      vtcr: encodeVtcr({ t0sz: 12, granule: 4096, sl0: 0, ds: true, sl2: true, ps: 6 }),
      vttbr: 0n,
    });
    expect(regime).toMatchObject({ startLevel: -1, inputBits: 52, outputBits: 52 });
  });
  it.each([
    [{ t0sz: 24, granule: 4096, sl0: 0 }, /40-bit IPA .* cannot start at level 2/],
    [{ t0sz: 24, granule: 65536, sl0: 3 }, /SL0=3 is reserved/],
    [{ t0sz: 24, granule: 4096, sl0: 1, ps: 7 }, /PS=7 is reserved/],
  ])('rejects %o, naming VTCR_EL2', (fields, message) => {
    const call = () => decodeStage2({ vtcr: encodeVtcr(fields), vttbr: 0n });
    expect(call).toThrow(InputError);
    expect(call).toThrow(message);
    expect(call).toThrow(/VTCR_EL2=0x/);
  });
});
