import { BufferMemory } from '../../../memory/buffer-memory.js';
import {
  GRANULE_16K,
  GRANULE_4K,
  GRANULE_64K,
  type Granule,
} from '../../../memory/arm64/granule.js';
import { decodeStage1, translateArm64Stage1 } from '../../../memory/arm64/stage1.js';
import { Arm64TableBuilder } from '../../../memory/test-support/arm64-table-builder.js';
import { buildKallsymsImage } from '../kallsyms/test-support/kallsyms-builder.js';
import { arm64LinuxTranslator, findArm64Kernel, linuxTcr } from './find-kernel.js';
import { firstMapping, kimageVaddr } from './open-kernel.js';

const RAM = 0x4000_0000n;
const IMAGE_OFFSET = 0x20_0000; // the kernel at RAM + 2 MiB, as QEMU's virt loads it
const IMAGE_BYTES = 0x40_0000;

/**
 * A synthetic ARM64 guest: an image with kallsyms (text symbols only) and a banner, mapped at `text`
 * by a full kernel table (the image plus a linear map) and by an early table that maps only the image.
 */
function guest(granule: Granule, vaBits: number, text: bigint) {
  const bytes = new Uint8Array(16 << 20);
  const image = bytes.subarray(IMAGE_OFFSET, IMAGE_OFFSET + IMAGE_BYTES);
  const stext = text + 0x1_0000n;
  const kallsyms = buildKallsymsImage(
    [
      { name: '_stext', type: 'T', address: stext },
      { name: 'vectors', type: 'T', address: stext + 0x800n },
      { name: '__arm64_sys_io_setup', type: 'T', address: stext + 0x1000n },
      { name: '__arm64_sys_io_destroy', type: 'T', address: stext + 0x1100n },
      ...Array.from({ length: 600 }, (_, index) => ({
        name: `synthetic_function_${index}`,
        type: index % 3 === 0 ? 'T' : 't',
        address: stext + 0x2000n + BigInt(index) * 0x40n,
      })),
      { name: '_etext', type: 'D', address: text + 0x10_0000n },
    ],
    text,
    '6.1',
  );
  image.set(new TextEncoder().encode('Linux version 6.1.0-test (synthetic) #1\n\0'), 0x18_0000);
  image.set(kallsyms, 0x20_0000);
  const regime = decodeStage1({ tcr: linuxTcr(granule.size, vaBits), ttbr0: 0n, ttbr1: 0n });
  const options = {
    granule,
    startLevel: regime.upper.startLevel,
    inputBits: vaBits,
    bytes,
    bias: RAM,
    outputBits: regime.upper.outputBits,
  };
  const early = new Arm64TableBuilder({ ...options, tablesFrom: 0x80_0000 });
  const swapper = new Arm64TableBuilder({ ...options, tablesFrom: 0xa0_0000 });
  const step = BigInt(granule.size);
  for (let offset = 0n; offset < BigInt(IMAGE_BYTES); offset += step) {
    for (const tables of [early, swapper]) {
      tables.map(text + offset, RAM + BigInt(IMAGE_OFFSET) + offset);
    }
  }
  // The linear map: all of RAM, at a randomised place in the lower half of the TTBR1 range.
  const linear = (1n << 64n) - (1n << BigInt(vaBits)) + (0x2en << BigInt(vaBits - 12));
  for (let offset = 0n; offset < BigInt(bytes.length); offset += step) {
    swapper.map(linear + offset, RAM + offset);
  }
  return { memory: new BufferMemory(bytes, RAM, 'synthetic'), swapper, early, linear, stext };
}

const LAYOUTS: [Granule, number, bigint][] = [
  [GRANULE_4K, 48, 0xffff_d36b_8a80_0000n],
  [GRANULE_4K, 39, 0xffff_ffc0_0820_0000n],
  [GRANULE_16K, 47, 0xffff_c000_1000_0000n],
  [GRANULE_64K, 42, 0xffff_fe00_0a00_0000n],
];

describe.each(LAYOUTS)('findArm64Kernel (%#)', (granule, vaBits, text) => {
  const label = `${granule.size / 1024} KiB granule, ${vaBits}-bit VA`;
  const g = guest(granule, vaBits, text);
  const found = findArm64Kernel(g.memory);

  it(`${label}: finds the layout and the full kernel table, not the early one`, () => {
    expect(found.layout).toEqual({ granule: granule.size, vaBits });
    expect(found.root).toBe(g.swapper.root);
  });
  it(`${label}: finds the image, virtually and physically`, () => {
    expect(found.virtualStart).toBe(text);
    expect(found.physicalStart).toBe(RAM + BigInt(IMAGE_OFFSET));
    expect(found.bytes.length).toBe(IMAGE_BYTES);
    expect(found.symbols.address('vectors')).toBe(g.stext + 0x800n);
  });
  it(`${label}: finds the linear map's base`, () => {
    const top = (1n << 64n) - (1n << BigInt(vaBits));
    const read = (pa: bigint) => g.swapper.reader()(pa);
    expect(firstMapping(found.regime, read, top, top + (1n << BigInt(vaBits - 1)))).toEqual({
      virtual: g.linear,
      physical: RAM,
    });
  });
  it(`${label}: translates user addresses through a process's table, kernel ones through swapper`, () => {
    const user = new Arm64TableBuilder({
      granule,
      startLevel: found.regime.lower.startLevel,
      inputBits: vaBits,
      bytes: g.swapper.bytes,
      bias: RAM,
      tablesFrom: 0xe0_0000,
    });
    user.map(0x40_0000n, RAM + 0x1234n * BigInt(granule.size));
    const translate = arm64LinuxTranslator(found.regime);
    const read = g.swapper.reader();
    expect(translate(user.root, 0x40_0010n, read)).toMatchObject({
      ok: true,
      physical: RAM + 0x1234n * BigInt(granule.size) + 0x10n,
    });
    expect(translate(user.root, text, read)).toMatchObject({
      physical: RAM + BigInt(IMAGE_OFFSET),
    });
    expect(translateArm64Stage1(found.regime, 0x40_0010n, read)).toMatchObject({ ok: false });
  });
});

describe('findArm64Kernel on memory that holds no kernel', () => {
  it('says there is no banner', () => {
    expect(() => findArm64Kernel(new BufferMemory(new Uint8Array(1 << 20), RAM))).toThrow(
      /no Linux banner/,
    );
  });
  it('says no table maps the text when the tables are gone', () => {
    const g = guest(GRANULE_4K, 48, 0xffff_d36b_8a80_0000n);
    g.swapper.bytes.fill(0, 0x80_0000, 0xe0_0000);
    expect(() => findArm64Kernel(g.memory)).toThrow(
      /no AArch64 top-level table maps the kernel text/,
    );
  });
});

describe('kimageVaddr', () => {
  it('is 128 MiB above the upper half before 6.5 and 2 GiB above it since', () => {
    expect(kimageVaddr(48, '6.1.0-56-cloud-arm64')).toBe(0xffff_8000_0800_0000n);
    expect(kimageVaddr(52, '6.1.0')).toBe(0xffff_8000_0800_0000n);
    expect(kimageVaddr(39, '5.10.0-30-arm64')).toBe(0xffff_ffc0_0800_0000n);
    expect(kimageVaddr(48, '6.12.38+deb13-arm64')).toBe(0xffff_8000_8000_0000n);
  });
});
