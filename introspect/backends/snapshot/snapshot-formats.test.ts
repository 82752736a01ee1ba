import fc from 'fast-check';
import { InputError, isRingsideError } from '../../errors.js';
import { SegmentedFileMemory } from '../../memory/segmented-file.js';
import { detectLayout } from './open-snapshot.js';
import type { RangeReader } from './elf-core.js';
import { LIME_MAGIC } from './lime.js';

const readerOf =
  (bytes: Uint8Array): RangeReader =>
  (offset, length) => {
    if (offset + length > bytes.length)
      throw new InputError('past the end', 'test', { code: 'TRUNCATED', offset });
    return bytes.slice(offset, offset + length);
  };

/** An ELF64 core with one PT_NOTE (a CORE/NT_PRSTATUS and a QEMU note) and PT_LOADs. */
function buildElfCore(
  loads: { physical: bigint; data: Uint8Array }[],
  options: { cr3?: bigint; rip?: bigint } = {},
): Uint8Array {
  const prstatus = new Uint8Array(336);
  new DataView(prstatus.buffer).setBigUint64(
    112 + 16 * 8,
    options.rip ?? 0xffffffff81000000n,
    true,
  );
  const qemu = new Uint8Array(440);
  const qemuView = new DataView(qemu.buffer);
  qemuView.setUint32(0, 1, true);
  qemuView.setUint32(4, 440, true);
  qemuView.setBigUint64(392 + 3 * 8, options.cr3 ?? 0x1000n, true);
  const note = (owner: string, type: number, desc: Uint8Array): Uint8Array => {
    const name = Buffer.from(`${owner}\0`);
    const nameSize = (name.length + 3) & ~3;
    const out = new Uint8Array(12 + nameSize + ((desc.length + 3) & ~3));
    const view = new DataView(out.buffer);
    view.setUint32(0, name.length, true);
    view.setUint32(4, desc.length, true);
    view.setUint32(8, type, true);
    out.set(name, 12);
    out.set(desc, 12 + nameSize);
    return out;
  };
  const notes = Buffer.concat([note('CORE', 1, prstatus), note('QEMU', 0, qemu)]);
  const phnum = 1 + loads.length;
  const headerSize = 64 + phnum * 56;
  let offset = headerSize + notes.length;
  const total = offset + loads.reduce((sum, load) => sum + load.data.length, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  view.setUint16(16, 4, true); // ET_CORE
  view.setUint16(18, 62, true); // x86-64
  view.setBigUint64(32, 64n, true); // phoff
  view.setUint16(54, 56, true);
  view.setUint16(56, phnum, true);
  const header = (
    index: number,
    type: number,
    fileOffset: number,
    physical: bigint,
    size: number,
  ): void => {
    const base = 64 + index * 56;
    view.setUint32(base, type, true);
    view.setBigUint64(base + 8, BigInt(fileOffset), true);
    view.setBigUint64(base + 24, physical, true);
    view.setBigUint64(base + 32, BigInt(size), true);
    view.setBigUint64(base + 40, BigInt(size), true);
  };
  header(0, 4, headerSize, 0n, notes.length);
  out.set(notes, headerSize);
  loads.forEach((load, index) => {
    header(index + 1, 1, offset, load.physical, load.data.length);
    out.set(load.data, offset);
    offset += load.data.length;
  });
  return out;
}

function buildLime(ranges: { start: bigint; data: Uint8Array }[]): Uint8Array {
  return Buffer.concat(
    ranges.flatMap((range) => {
      const header = Buffer.alloc(32);
      header.writeUInt32LE(LIME_MAGIC, 0);
      header.writeUInt32LE(1, 4);
      header.writeBigUInt64LE(range.start, 8);
      header.writeBigUInt64LE(range.start + BigInt(range.data.length) - 1n, 16);
      return [header, Buffer.from(range.data)];
    }),
  );
}

const page = (fill: number): Uint8Array => new Uint8Array(4096).fill(fill);

describe('ELF cores', () => {
  const elf = buildElfCore(
    [
      { physical: 0n, data: page(1) },
      { physical: 0x10000n, data: page(2) },
    ],
    { cr3: 0x2a00000n, rip: 0xffffffff81234567n },
  );

  it('gives segments by physical address and registers from both note kinds', () => {
    const layout = detectLayout('core.elf', elf.length, readerOf(elf));
    expect(layout.format).toBe('elf');
    expect(layout.architecture).toBe('x86_64');
    expect(layout.segments.map((segment) => segment.physical)).toEqual([0n, 0x10000n]);
    expect(layout.vcpus).toHaveLength(1);
    expect(layout.vcpus[0]!.registers.cr3).toBe(0x2a00000n);
    expect(layout.vcpus[0]!.registers.rip).toBe(0n); // the QEMU note (written last) wins
  });

  it('names the file and offset when a PT_LOAD runs past the end', () => {
    const cut = elf.slice(0, elf.length - 100);
    expect(() => detectLayout('cut.elf', cut.length, readerOf(cut))).toThrow(
      /cut\.elf: PT_LOAD #2 .*truncated dump/,
    );
  });

  it('rejects 32-bit and non-core ELF files by name', () => {
    const bad = elf.slice();
    bad[4] = 1;
    expect(() => detectLayout('x.elf', bad.length, readerOf(bad))).toThrow(
      'x.elf: not a 64-bit ELF file',
    );
    const exec = elf.slice();
    exec[16] = 2;
    expect(() => detectLayout('x.elf', exec.length, readerOf(exec))).toThrow(/not an ELF core/);
  });

  it('reads across segments and reports holes as errors, never zeros', () => {
    const layout = detectLayout('core.elf', elf.length, readerOf(elf));
    const memory = new SegmentedFileMemory('core.elf', layout.segments, -1);
    expect(() => memory.readInto(0x2000n, new Uint8Array(4))).toThrow(
      /core\.elf: no memory in the snapshot at 0x2000/,
    );
  });
});

describe('LiME and raw', () => {
  it('parses LiME ranges', () => {
    const lime = buildLime([
      { start: 0n, data: page(1) },
      { start: 0x100000n, data: page(2) },
    ]);
    const layout = detectLayout('d.lime', lime.length, readerOf(lime));
    expect(layout.format).toBe('lime');
    expect(layout.segments).toEqual([
      { physical: 0n, fileOffset: 32, length: 4096 },
      { physical: 0x100000n, fileOffset: 4096 + 64, length: 4096 },
    ]);
  });
  it('names a truncated LiME range', () => {
    const lime = buildLime([{ start: 0n, data: page(1) }]).slice(0, 1000);
    expect(() => detectLayout('d.lime', lime.length, readerOf(lime))).toThrow(
      /d\.lime: LiME range .*truncated dump/,
    );
  });
  it('takes anything else of whole pages as raw, and rejects odd sizes and empty files', () => {
    expect(detectLayout('r.bin', 8192, readerOf(new Uint8Array(8192))).format).toBe('raw');
    expect(() => detectLayout('r.bin', 100, readerOf(new Uint8Array(100)))).toThrow(
      /r\.bin: not an ELF core or LiME file/,
    );
    expect(() => detectLayout('e.bin', 0, readerOf(new Uint8Array(0)))).toThrow(
      'e.bin: the file is empty',
    );
  });
});

describe('hostile snapshot files', () => {
  const elf = buildElfCore([{ physical: 0n, data: page(1) }]);
  const lime = buildLime([{ start: 0n, data: page(1) }]);

  it.each([
    ['ELF', elf],
    ['LiME', lime],
  ])(
    'a %s file with random bytes overwritten gives a Ringside error or a layout, never a crash',
    (_name, original) => {
      fc.assert(
        fc.property(
          fc.array(fc.tuple(fc.nat(original.length - 1), fc.integer({ min: 0, max: 255 })), {
            minLength: 1,
            maxLength: 16,
          }),
          (edits) => {
            const bytes = original.slice();
            for (const [at, value] of edits) bytes[at] = value;
            try {
              const layout = detectLayout('fuzz', bytes.length, readerOf(bytes));
              for (const segment of layout.segments)
                expect(segment.fileOffset + segment.length).toBeLessThanOrEqual(bytes.length);
            } catch (error) {
              expect(isRingsideError(error)).toBe(true);
            }
          },
        ),
        { numRuns: 400 },
      );
    },
  );

  it('a note announcing a 2 GiB descriptor is refused, not wrapped to a negative size', () => {
    const bytes = elf.slice();
    bytes[183] = 128; // high byte of the first note's descsz (found by the fuzz test above)
    bytes[184] = 0;
    expect(() => detectLayout('note.elf', bytes.length, readerOf(bytes))).toThrow(
      /note.elf: ELF note at .* runs past/,
    );
  });

  it('a header announcing 2^32-sized segments is refused as truncated', () => {
    const bytes = elf.slice();
    new DataView(bytes.buffer).setBigUint64(64 + 56 + 32, 1n << 32n, true);
    expect(() => detectLayout('big.elf', bytes.length, readerOf(bytes))).toThrow(/truncated/);
  });

  it('PT_LOADs at overlapping physical addresses are refused: RAM is stored once', () => {
    const bytes = buildElfCore([
      { physical: 0n, data: page(1) },
      { physical: 0x800n, data: page(2) },
    ]);
    expect(() => detectLayout('overlap.elf', bytes.length, readerOf(bytes))).toThrow(
      /overlap.elf: segments overlap at physical 0x800/,
    );
  });

  it('PT_LOADs reusing the same file bytes at other addresses are refused', () => {
    const bytes = buildElfCore([
      { physical: 0n, data: page(1) },
      { physical: 0x100000n, data: page(2) },
    ]);
    // Point the second PT_LOAD at the first one's bytes: one page posing as two.
    const view = new DataView(bytes.buffer);
    view.setBigUint64(64 + 2 * 56 + 8, view.getBigUint64(64 + 56 + 8, true), true);
    expect(() => detectLayout('twice.elf', bytes.length, readerOf(bytes))).toThrow(
      /twice.elf: segments share file bytes/,
    );
  });

  it('a flood of vCPU notes is refused past the CPU limit, named by its offset', () => {
    const notes = 9000;
    const size = 20;
    const flood = new Uint8Array(notes * size);
    const view = new DataView(flood.buffer);
    for (let index = 0; index < notes; index++) {
      view.setUint32(index * size, 5, true);
      view.setUint32(index * size + 4, 0, true);
      view.setUint32(index * size + 8, 1, true);
      flood.set([0x43, 0x4f, 0x52, 0x45], index * size + 12);
    }
    const core = buildElfCore([{ physical: 0n, data: page(1) }]);
    const bytes = Buffer.concat([core, flood]);
    const header = new DataView(bytes.buffer, bytes.byteOffset);
    header.setBigUint64(64 + 8, BigInt(core.length), true);
    header.setBigUint64(64 + 32, BigInt(flood.length), true);
    expect(() => detectLayout('flood.elf', bytes.length, readerOf(bytes))).toThrow(
      /flood.elf: more than 8192 vCPU notes/,
    );
  });
});
