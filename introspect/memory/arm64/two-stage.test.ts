import fc from 'fast-check';
import { MemoryError } from '../../errors.js';
import { arm64Translator, PagedAddressSpace } from '../paged-address-space.js';
import {
  Arm64TableBuilder,
  encodeTcr,
  encodeVtcr,
  S1_AP_EL0,
  S1_AP_READ_ONLY,
  S1_KERNEL_RW,
  S2_READ_WRITE,
} from '../test-support/arm64-table-builder.js';
import { GRANULE_16K, GRANULE_4K, GRANULE_64K, type Granule } from './granule.js';
import { decodeStage1, translateArm64Stage1 } from './stage1.js';
import { decodeStage2, translateArm64Stage2 } from './stage2.js';
import { translateArm64TwoStage } from './two-stage.js';

/** The guest sees its RAM at IPA 0x4000_0000 (like QEMU virt); the host keeps it at PA 0. */
const GUEST_RAM_IPA = 0x4000_0000n;
const KERNEL_VA = 0xffff_8000_1000_0000n;

function guest(stage1Granule: Granule, stage2Granule: Granule, size = 8 << 20) {
  const bytes = new Uint8Array(size);
  const stage2Of = (root: bigint) =>
    decodeStage2({
      vtcr: encodeVtcr({ t0sz: 24, granule: stage2Granule.size, sl0: 1 }),
      vttbr: root,
    });
  const stage1Regime = (root: bigint) =>
    decodeStage1({
      tcr: encodeTcr({
        t0sz: 16,
        t1sz: 16,
        granule0: stage1Granule.size,
        granule1: stage1Granule.size,
      }),
      ttbr0: root,
      ttbr1: root,
    });
  // Stage-2 tables in the top MiB of host memory; guest RAM (holding stage-1 tables) below them.
  const stage2 = new Arm64TableBuilder({
    granule: stage2Granule,
    startLevel: stage2Of(0n).startLevel,
    inputBits: 40,
    bytes,
    tablesFrom: size - (1 << 20),
  });
  const stage1 = new Arm64TableBuilder({
    granule: stage1Granule,
    startLevel: stage1Regime(0n).upper.startLevel,
    inputBits: 48,
    bytes,
    bias: GUEST_RAM_IPA,
    tablesFrom: stage1Granule.size,
  });
  // Guest RAM: IPA 0x4000_0000.. → PA 0.., page by page, leaving the stage-2 tables unmapped.
  const guestBytes = BigInt(size - (2 << 20));
  for (let offset = 0n; offset < guestBytes; offset += BigInt(stage2Granule.size)) {
    stage2.map(GUEST_RAM_IPA + offset, offset, 3, S2_READ_WRITE);
  }
  const stage2Regime = stage2Of(stage2.root);
  return { bytes, stage1, stage2, stage2Regime, stage1Regime, read: stage2.reader() };
}

const PAIRS: [Granule, Granule][] = [
  [GRANULE_4K, GRANULE_4K],
  [GRANULE_16K, GRANULE_4K],
  [GRANULE_4K, GRANULE_64K],
  [GRANULE_64K, GRANULE_16K],
];

describe.each(PAIRS)('two stages (%#)', (granule1, granule2) => {
  const label = `stage 1 ${granule1.size / 1024} KiB over stage 2 ${granule2.size / 1024} KiB`;

  it(`${label}: composes VA → IPA → PA`, () => {
    const g = guest(granule1, granule2);
    g.stage1.map(KERNEL_VA, GUEST_RAM_IPA + 0x30_0000n, 3);
    const result = translateArm64TwoStage(
      g.stage1Regime(g.stage1.root),
      g.stage2Regime,
      KERNEL_VA + 0x44n,
      g.read,
    );
    expect(result).toMatchObject({
      ok: true,
      physical: 0x30_0044n,
      pageSize: Math.min(granule1.size, granule2.size),
    });
  });

  it(`${label}: a stage-1 table outside guest RAM is a stage-2 fault on the stage-1 walk`, () => {
    const g = guest(granule1, granule2);
    g.stage1.map(KERNEL_VA, GUEST_RAM_IPA, 3);
    const pointer = g.stage1.entryAddress(KERNEL_VA, 1);
    g.stage1.setEntry(pointer, g.stage1.encodeAddress(0x2000_0000n) | 3n); // IPA with no RAM
    const result = translateArm64TwoStage(
      g.stage1Regime(g.stage1.root),
      g.stage2Regime,
      KERNEL_VA,
      g.read,
    );
    expect(result).toMatchObject({
      ok: false,
      fault: 'not-present',
      stage: 2,
      duringStage1Walk: true,
    });
    expect(result.ok === false && result.ipa! >> 16n).toBe(0x2000_0000n >> 16n);
  });

  it(`${label}: an output IPA outside guest RAM is a stage-2 fault naming the IPA`, () => {
    const g = guest(granule1, granule2);
    g.stage1.map(KERNEL_VA, 0x8_0000_0000n, 3);
    expect(
      translateArm64TwoStage(g.stage1Regime(g.stage1.root), g.stage2Regime, KERNEL_VA, g.read),
    ).toMatchObject({ ok: false, stage: 2, ipa: 0x8_0000_0000n });
    expect(
      translateArm64TwoStage(g.stage1Regime(g.stage1.root), g.stage2Regime, KERNEL_VA, g.read),
    ).not.toHaveProperty('duringStage1Walk');
  });

  it(`${label}: a stage-1 fault stays a stage-1 fault`, () => {
    const g = guest(granule1, granule2);
    expect(
      translateArm64TwoStage(g.stage1Regime(g.stage1.root), g.stage2Regime, KERNEL_VA, g.read),
    ).toMatchObject({
      ok: false,
      fault: 'not-present',
      stage: 1,
      level: g.stage1Regime(0n).upper.startLevel,
    });
  });
});

describe('two stages: permissions', () => {
  it('is writable only where both stages allow writes', () => {
    const g = guest(GRANULE_4K, GRANULE_4K);
    g.stage1.map(KERNEL_VA, GUEST_RAM_IPA + 0x1000n, 3, S1_KERNEL_RW | S1_AP_EL0);
    const ipaEntry = g.stage2.entryAddress(GUEST_RAM_IPA + 0x1000n, 3);
    const regime = g.stage1Regime(g.stage1.root);
    expect(translateArm64TwoStage(regime, g.stage2Regime, KERNEL_VA, g.read)).toMatchObject({
      writable: true,
      user: true,
    });
    g.stage2.setEntry(ipaEntry, g.stage2.entryAt(ipaEntry) & ~(1n << 7n)); // S2AP write off
    expect(translateArm64TwoStage(regime, g.stage2Regime, KERNEL_VA, g.read)).toMatchObject({
      writable: false,
      readable: true,
    });
    g.stage1.map(KERNEL_VA, GUEST_RAM_IPA + 0x2000n, 3, S1_KERNEL_RW | S1_AP_READ_ONLY);
    expect(translateArm64TwoStage(regime, g.stage2Regime, KERNEL_VA, g.read)).toMatchObject({
      writable: false,
    });
  });
  it('cannot walk a stage-1 table that stage 2 makes unreadable', () => {
    const g = guest(GRANULE_4K, GRANULE_4K);
    g.stage1.map(KERNEL_VA, GUEST_RAM_IPA + 0x1000n, 3);
    const rootEntry = g.stage2.entryAddress(g.stage1.root, 3);
    g.stage2.setEntry(rootEntry, g.stage2.entryAt(rootEntry) & ~(1n << 6n)); // S2AP read off
    expect(
      translateArm64TwoStage(g.stage1Regime(g.stage1.root), g.stage2Regime, KERNEL_VA, g.read),
    ).toMatchObject({ ok: false, fault: 'unreadable-table', stage: 2, duringStage1Walk: true });
  });
});

describe('PagedAddressSpace over AArch64 tables', () => {
  it('reads across 4 KiB pages of a 64 KiB-granule mapping and names the failing address', () => {
    const tables = new Arm64TableBuilder({ granule: GRANULE_64K, startLevel: 1, inputBits: 48 });
    const data = 0x20_0000n;
    tables.bytes.set([1, 2, 3, 4, 5, 6, 7, 8], Number(data) + 0xfffc);
    tables.map(KERNEL_VA, data, 3);
    const regime = decodeStage1({
      tcr: encodeTcr({ t0sz: 16, t1sz: 16, granule0: 65536, granule1: 65536 }),
      ttbr0: 0n,
      ttbr1: tables.root,
    });
    const space = new PagedAddressSpace(tables.memory(), tables.root, arm64Translator(regime));
    const target = new Uint8Array(4);
    space.readInto(KERNEL_VA + 0xfffcn, target);
    expect([...target]).toEqual([1, 2, 3, 4]);
    const crossing = new Uint8Array(8);
    expect(() => space.readInto(KERNEL_VA + 0xfffcn, crossing)).toThrow(MemoryError);
    expect(() => space.readInto(KERNEL_VA + 0xfffcn, crossing)).toThrow(
      /not-present at level 3\) at 0xffff800010010000/,
    );
  });
  it('goes through stage 2 when given one', () => {
    const g = guest(GRANULE_4K, GRANULE_4K);
    g.bytes.set([0xaa, 0xbb], 0x5_0000);
    g.stage1.map(KERNEL_VA, GUEST_RAM_IPA + 0x5_0000n, 3);
    const space = new PagedAddressSpace(
      g.stage2.memory(),
      g.stage1.root,
      arm64Translator(g.stage1Regime(g.stage1.root), g.stage2Regime),
    );
    const target = new Uint8Array(2);
    space.readInto(KERNEL_VA, target);
    expect([...target]).toEqual([0xaa, 0xbb]);
  });
});

describe('AArch64 translation properties', () => {
  const granules = fc.constantFrom(GRANULE_4K, GRANULE_16K, GRANULE_64K);

  it('translates every mapped page to where it was mapped, in both halves, any granule', () => {
    fc.assert(
      fc.property(
        granules,
        fc.uniqueArray(fc.tuple(fc.boolean(), fc.bigInt({ min: 0n, max: (1n << 31n) - 1n })), {
          minLength: 1,
          maxLength: 12,
          // Both halves share one root here, so pages must differ in their low 48 bits.
          selector: ([, page]) => page,
        }),
        fc.bigInt({ min: 0n, max: (1n << 16n) - 1n }),
        (granule, pages, offsetSeed) => {
          const tables = new Arm64TableBuilder({
            granule,
            startLevel: granule.size === 65536 ? 1 : 0,
            inputBits: 48,
            size: 4 << 20,
          });
          const shift = BigInt(granule.pageShift);
          const offset = offsetSeed & (BigInt(granule.size) - 1n);
          const pageBits = 48n - shift;
          const vaOf = ([high, page]: [boolean, bigint]) => {
            const low = (page & ((1n << pageBits) - 1n)) << shift;
            return high ? ((((1n << 64n) - 1n) << 48n) % (1n << 64n)) | low : low;
          };
          const unique = new Map(pages.map((entry) => [vaOf(entry), entry]));
          expect(unique.size).toBe(pages.length);
          [...unique.keys()].forEach((va, index) => tables.map(va, BigInt(index + 1) << shift));
          const regime = decodeStage1({
            tcr: encodeTcr({ t0sz: 16, t1sz: 16, granule0: granule.size, granule1: granule.size }),
            ttbr0: tables.root,
            ttbr1: tables.root,
          });
          [...unique.keys()].forEach((va, index) => {
            expect(translateArm64Stage1(regime, va | offset, tables.reader())).toMatchObject({
              ok: true,
              physical: (BigInt(index + 1) << shift) | offset,
            });
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('composes like stage 2 applied to a stage-1 walk of guest memory (differential)', () => {
    fc.assert(
      fc.property(
        granules,
        granules,
        fc.uniqueArray(fc.bigInt({ min: 0n, max: 0x3ffn }), { minLength: 1, maxLength: 8 }),
        (granule1, granule2, slots) => {
          const g = guest(granule1, granule2);
          const stride = BigInt(granule1.size);
          slots.forEach((slot, index) =>
            g.stage1.map(KERNEL_VA + slot * stride, GUEST_RAM_IPA + BigInt(index + 64) * stride),
          );
          const regime = g.stage1Regime(g.stage1.root);
          for (const slot of [...slots, 0x400n]) {
            const va = KERNEL_VA + slot * stride + 8n;
            // Reference: walk stage 1 directly over guest memory (IPA-addressed), then stage 2.
            const ipa = translateArm64Stage1(regime, va, g.stage1.reader());
            const composed = translateArm64TwoStage(regime, g.stage2Regime, va, g.read);
            if (!ipa.ok) {
              expect(composed).toMatchObject({ ok: false, fault: ipa.fault, level: ipa.level });
              continue;
            }
            const physical = translateArm64Stage2(g.stage2Regime, ipa.physical, g.read);
            expect(composed.ok && physical.ok && composed.physical).toBe(
              physical.ok && physical.physical,
            );
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('never throws and always answers on arbitrary table contents (hostile memory)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0x4000, maxLength: 0x4000 }),
        granules,
        fc.integer({ min: 25, max: 48 }),
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.boolean(),
        (bytes, granule, vaBits, address, twoStage) => {
          const view = new DataView(bytes.buffer);
          const read = (pa: bigint): bigint | undefined =>
            pa + 8n <= BigInt(bytes.length) ? view.getBigUint64(Number(pa), true) : undefined;
          const regime = decodeStage1({
            tcr: encodeTcr({
              t0sz: 64 - vaBits,
              t1sz: 64 - vaBits,
              granule0: granule.size,
              granule1: granule.size,
              ips: 6,
            }),
            ttbr0: 0n,
            ttbr1: 0x2000n,
          });
          const stage2 = decodeStage2({
            vtcr: encodeVtcr({ t0sz: 24, granule: 4096, sl0: 1 }),
            vttbr: 0x1000n,
          });
          const result = twoStage
            ? translateArm64TwoStage(regime, stage2, address, read)
            : translateArm64Stage1(regime, address, read);
          expect(typeof result.ok).toBe('boolean');
          if (result.ok) expect(result.physical < 1n << 52n).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});
