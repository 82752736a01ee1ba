// Unit tests of the Xen dump-core parser on synthetic cores built here (HVM/PVH .xen_pfn and PV
// .xen_p2m): pages become segments, vCPU contexts registers, and every hostile field a typed error.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { InputError, isRingsideError } from '../../errors.js';
import { SegmentedFileMemory } from '../../memory/segmented-file.js';
import { PagedAddressSpace, x86Translator } from '../../memory/paged-address-space.js';
import { X86_64_4LEVEL } from '../../memory/x86/paging.js';
import { detectLayout, openSnapshot } from './open-snapshot.js';
import type { RangeReader } from './types.js';
import { parseXenCore } from './xen-core.js';

const PAGE = 4096;
const CONTEXT_SIZE = 5168;

const readerOf =
  (bytes: Uint8Array): RangeReader =>
  (offset, length) => {
    if (offset + length > bytes.length)
      throw new InputError('past the end', 'test', { code: 'TRUNCATED', offset });
    return bytes.slice(offset, offset + length);
  };

interface CoreOptions {
  /** Frame numbers of the pages, in file order (their content is the frame number, repeated). */
  frames: bigint[];
  pv?: boolean;
  /** PV: each page's machine frame (default: its frame + 0x1000). */
  machine?: bigint[];
  /** Writes a page's content (default: its frame number, repeated). */
  fill?: (index: number, page: DataView) => void;
  contexts?: { rip: bigint; cr3: bigint; rsp?: bigint }[];
  /** Extra sections (name, type, bytes) appended after the standard ones. */
  extra?: { name: string; type?: number; data: Uint8Array }[];
}

interface BuiltSection {
  name: string;
  type: number;
  data: Uint8Array;
}

/** Builds a dump-core as xc_domain_dumpcore lays it out: ELF header, section headers, then data. */
function buildXenCore(options: CoreOptions): {
  bytes: Uint8Array;
  sectionTable: number;
  offsets: Map<string, number>;
} {
  const entry = options.pv ? 16 : 8;
  const frames = new Uint8Array(options.frames.length * entry);
  const frameView = new DataView(frames.buffer);
  options.frames.forEach((frame, index) => {
    frameView.setBigUint64(index * entry, frame, true);
    if (options.pv)
      frameView.setBigUint64(index * entry + 8, options.machine?.[index] ?? frame + 0x1000n, true);
  });
  const pages = new Uint8Array(options.frames.length * PAGE);
  const pageView = new DataView(pages.buffer);
  options.frames.forEach((frame, index) => {
    if (options.fill) options.fill(index, new DataView(pages.buffer, index * PAGE, PAGE));
    else for (let at = 0; at < PAGE; at += 8) pageView.setBigUint64(index * PAGE + at, frame, true);
  });
  const contexts = new Uint8Array((options.contexts?.length ?? 0) * CONTEXT_SIZE);
  const contextView = new DataView(contexts.buffer);
  options.contexts?.forEach((context, index) => {
    const base = index * CONTEXT_SIZE;
    contextView.setBigUint64(base + 520 + 128, context.rip, true);
    contextView.setBigUint64(base + 520 + 152, context.rsp ?? 0x1234n, true);
    contextView.setBigUint64(base + 520 + 10 * 8, 0xaaaan, true); // rax
    contextView.setBigUint64(base + 4984 + 3 * 8, context.cr3, true);
    contextView.setBigUint64(base + 5144, 0x7fn, true); // fs_base
  });
  const sections: BuiltSection[] = [
    { name: '', type: 0, data: new Uint8Array(0) },
    { name: '.shstrtab', type: 3, data: new Uint8Array(0) },
    { name: '.xen_prstatus', type: 1, data: contexts },
    { name: options.pv ? '.xen_p2m' : '.xen_pfn', type: 1, data: frames },
    { name: '.xen_pages', type: 1, data: pages },
    ...(options.extra ?? []).map((section) => ({ type: 1, ...section })),
  ];
  const names: number[] = [];
  const strings: number[] = [];
  for (const section of sections) {
    names.push(strings.length);
    strings.push(...Buffer.from(`${section.name}\0`));
  }
  sections[1]!.data = Uint8Array.from(strings);
  const sectionTable = 64;
  let offset = sectionTable + sections.length * 64;
  const offsets = new Map<string, number>();
  const placed = sections.map((section) => {
    // Page data is page-aligned in real cores; keep that so fileOffsets look like Xen's.
    if (section.name === '.xen_pages') offset = Math.ceil(offset / PAGE) * PAGE;
    const at = offset;
    offsets.set(section.name, at);
    offset += section.data.length;
    return at;
  });
  const bytes = new Uint8Array(offset);
  const view = new DataView(bytes.buffer);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  view.setUint16(16, 4, true); // ET_CORE
  view.setUint16(18, 62, true); // x86-64
  view.setBigUint64(40, BigInt(sectionTable), true);
  view.setUint16(52, 64, true);
  view.setUint16(56, 0, true); // no program header: what makes it a Xen core
  view.setUint16(58, 64, true);
  view.setUint16(60, sections.length, true);
  view.setUint16(62, 1, true);
  sections.forEach((section, index) => {
    const base = sectionTable + index * 64;
    view.setUint32(base, names[index]!, true);
    view.setUint32(base + 4, section.type, true);
    view.setBigUint64(base + 24, BigInt(placed[index]!), true);
    view.setBigUint64(base + 32, BigInt(section.data.length), true);
    bytes.set(section.data, placed[index]!);
  });
  return { bytes, sectionTable, offsets };
}

const parse = (bytes: Uint8Array) => detectLayout('dom.core', bytes.length, readerOf(bytes));

/** The InputError `run` throws (failing the test if it throws something else or nothing). */
function inputErrorOf(run: () => unknown): InputError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error('expected an InputError, nothing was thrown');
}

/** Section header field of section `index` (0 = null section, 2 = .xen_prstatus, 3 = frames, 4 = pages). */
const field = (core: { bytes: Uint8Array; sectionTable: number }, index: number, at: number) =>
  core.sectionTable + index * 64 + at;

describe('Xen dump-core parser', () => {
  it('maps an HVM/PVH core: contiguous frames merge, gaps split, invalid entries are skipped', () => {
    const core = buildXenCore({
      frames: [0n, 1n, 2n, 0x100n, 0xffffffffffffffffn, 0x101n],
      contexts: [
        { rip: 0xffffffff8100013dn, cr3: 0x1c0e000n },
        { rip: 0xffffffff81000200n, cr3: 0x2000n, rsp: 0xffffc90000003f00n },
      ],
    });
    const layout = parse(core.bytes);
    expect(layout.format).toBe('xen');
    expect(layout.architecture).toBe('x86_64');
    const pages = core.offsets.get('.xen_pages')!;
    expect(layout.segments).toEqual([
      { physical: 0n, fileOffset: pages, length: 3 * PAGE },
      { physical: 0x100000n, fileOffset: pages + 3 * PAGE, length: PAGE },
      // The invalid entry still occupies its page in the file: frame 0x101 is not adjacent.
      { physical: 0x101000n, fileOffset: pages + 5 * PAGE, length: PAGE },
    ]);
    expect(layout.vcpus).toHaveLength(2);
    expect(layout.vcpus[0]!.registers).toMatchObject({
      rip: 0xffffffff8100013dn,
      cr3: 0x1c0e000n,
      rax: 0xaaaan,
      rsp: 0x1234n,
      fs_base: 0x7fn,
    });
    expect(layout.vcpus[1]!.registers.rsp).toBe(0xffffc90000003f00n);

    // Reading through the segments returns each frame's own content.
    const directory = mkdtempSync(join(tmpdir(), 'xen2-core-'));
    try {
      const path = join(directory, 'dom.core');
      writeFileSync(path, core.bytes);
      const memory = new SegmentedFileMemory(path, layout.segments);
      const word = new Uint8Array(8);
      memory.readInto(0x2008n, word);
      expect(new DataView(word.buffer).getBigUint64(0, true)).toBe(2n);
      memory.readInto(0x101ff8n, word);
      expect(new DataView(word.buffer).getBigUint64(0, true)).toBe(0x101n);
      memory.close();
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('reads a PV core (.xen_p2m): laid out by guest frame, page tables and CR3 by machine frame', () => {
    // Guest frames 0–4: the four levels of page table, then a data page. Xen hands a PV guest machine
    // frames in descending order, and its entries and CR3 name those.
    const frames = [0n, 1n, 2n, 3n, 4n];
    const machine = frames.map((frame) => 0x9000n - frame);
    const virtual = 0xffff888000000000n; // the direct map: slot 273, then slot 0 at each level
    const index = (shift: bigint) => Number((virtual >> shift) & 0x1ffn) * 8;
    const core = buildXenCore({
      frames,
      machine,
      pv: true,
      contexts: [{ rip: virtual, cr3: machine[0]! << 12n }],
      fill: (page, data) => {
        if (page === 4) data.setBigUint64(0, 0x5eed5eedn, true);
        else {
          const shift = [39n, 30n, 21n, 12n][page]!;
          data.setBigUint64(index(shift), (machine[page + 1]! << 12n) | 0x63n, true);
          // An entry naming a machine frame that is not the guest's (Xen's own tables).
          data.setBigUint64(index(shift) + 8, (0x777777n << 12n) | 0x63n, true);
        }
      },
    });
    const layout = parse(core.bytes);
    expect(layout.segments).toEqual([
      { physical: 0n, fileOffset: core.offsets.get('.xen_pages')!, length: 5 * PAGE },
    ]);
    expect(layout.vcpus[0]!.registers.cr3).toBe(0n); // guest frame 0
    expect(layout.entryFrame!(0x9000n - 3n)).toBe(3n);
    expect(layout.entryFrame!(0x777777n)).toBeUndefined();

    const directory = mkdtempSync(join(tmpdir(), 'xen-pv-core-'));
    try {
      const path = join(directory, 'dom.core');
      writeFileSync(path, core.bytes);
      const snapshot = openSnapshot(path);
      const space = new PagedAddressSpace(
        snapshot.memory,
        layout.vcpus[0]!.registers.cr3!,
        x86Translator(X86_64_4LEVEL),
      );
      expect(space.translate(virtual)).toMatchObject({ ok: true, physical: 4n * 4096n });
      const word = new Uint8Array(8);
      space.readInto(virtual, word);
      expect(new DataView(word.buffer).getBigUint64(0, true)).toBe(0x5eed5eedn);
      // The next page's top-level slot names a frame Xen kept: not present, never a wrong read.
      expect(space.translate(virtual + (1n << 39n))).toMatchObject({ ok: false });
      expect(space.translate(virtual + 4096n)).toMatchObject({ ok: false, fault: 'not-present' });
      snapshot.close();
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('ignores unknown sections and section names that point outside the name table', () => {
    const core = buildXenCore({
      frames: [1n],
      extra: [{ name: '.note.Xen', data: new Uint8Array(16) }],
    });
    const view = new DataView(core.bytes.buffer);
    view.setUint32(field(core, 5, 0), 0xffffff, true); // .note.Xen's name offset: far outside
    expect(parse(core.bytes).segments).toHaveLength(1);
  });

  it.each([
    ['too many sections', (v: DataView) => v.setUint16(60, 65, true), 'UNSUPPORTED', /65 sections/],
    ['no section', (v: DataView) => v.setUint16(60, 0, true), 'UNSUPPORTED', /0 sections/],
    [
      'a short section entry size',
      (v: DataView) => v.setUint16(58, 40, true),
      'UNSUPPORTED',
      /entry size 40/,
    ],
    [
      'a name-table index past the table',
      (v: DataView) => v.setUint16(62, 9, true),
      'UNSUPPORTED',
      /not a Xen dump-core/,
    ],
    [
      'section headers past the end',
      (v: DataView) => v.setBigUint64(40, 1n << 40n, true),
      'TRUNCATED',
      /section headers lie past/,
    ],
    [
      'an offset beyond 2^53',
      (v: DataView) => v.setBigUint64(40, 1n << 60n, true),
      'BAD_INPUT',
      /out of range/,
    ],
    [
      'a section past the end',
      (v: DataView, c: Core) => v.setBigUint64(field(c, 4, 32), 1n << 30n, true),
      'TRUNCATED',
      /truncated dump/,
    ],
    [
      'a section size beyond 2^53',
      (v: DataView, c: Core) => v.setBigUint64(field(c, 4, 32), 1n << 63n, true),
      'BAD_INPUT',
      /out of range/,
    ],
    [
      'a NOBITS page section',
      (v: DataView, c: Core) => {
        v.setUint32(field(c, 4, 4), 8, true);
        v.setBigUint64(field(c, 4, 32), 1n << 50n, true);
      },
      'UNSUPPORTED',
      /SHT_NOBITS/,
    ],
    [
      'a NOBITS name table',
      (v: DataView, c: Core) => v.setUint32(field(c, 1, 4), 8, true),
      'BAD_INPUT',
      /section-name table/,
    ],
    [
      'fewer frames than pages',
      (v: DataView, c: Core) => v.setBigUint64(field(c, 3, 32), 8n, true),
      'TRUNCATED',
      /lists 1 frames for 2 pages/,
    ],
    [
      'a frame past any physical address',
      (v: DataView, c: Core) => v.setBigUint64(c.offsets.get('.xen_pfn')!, 1n << 50n, true),
      'BAD_INPUT',
      /past any physical address/,
    ],
    [
      'no .xen_pages section',
      (v: DataView, c: Core) => v.setUint32(field(c, 4, 0), 0xffff, true),
      'UNSUPPORTED',
      /no \.xen_pages/,
    ],
  ] as [string, (view: DataView, core: Core) => void, string, RegExp][])(
    'refuses %s with a typed error naming the file',
    (_label, corrupt, code, message) => {
      const core = buildXenCore({ frames: [1n, 2n], contexts: [{ rip: 1n, cr3: 2n }] });
      corrupt(new DataView(core.bytes.buffer), core);
      const error = inputErrorOf(() => parse(core.bytes));
      expect(error.code).toBe(code);
      expect(error.message).toMatch(/^dom\.core: /);
      expect(error.message).toMatch(message);
    },
  );

  it('refuses a core whose every frame entry is invalid', () => {
    const core = buildXenCore({ frames: [0xffffffffffffffffn] });
    expect(inputErrorOf(() => parse(core.bytes)).message).toMatch(/holds no page/);
  });

  it('reads at most the bytes the file has for vCPU contexts (a partial context is dropped)', () => {
    const core = buildXenCore({ frames: [1n], contexts: [{ rip: 7n, cr3: 8n }] });
    new DataView(core.bytes.buffer).setBigUint64(
      field(core, 2, 32),
      BigInt(CONTEXT_SIZE + 100),
      true,
    );
    expect(parse(core.bytes).vcpus).toHaveLength(1);
  });

  it('never throws anything but a Ringside error on a corrupted core, and bounds its reads', () => {
    const core = buildXenCore({
      frames: [0n, 1n, 3n],
      contexts: [{ rip: 1n, cr3: 2n }],
    });
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.nat(core.sectionTable + 6 * 64 + 64), fc.integer({ min: 0, max: 255 })),
          {
            minLength: 1,
            maxLength: 12,
          },
        ),
        (edits) => {
          const bytes = core.bytes.slice();
          for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
          let requested = 0;
          const read: RangeReader = (offset, length) => {
            requested += length;
            return readerOf(bytes)(offset, length);
          };
          try {
            const layout = parseXenCore('fuzz.core', bytes.length, read);
            for (const segment of layout.segments)
              expect(segment.fileOffset + segment.length).toBeLessThanOrEqual(bytes.length);
          } catch (error) {
            if (!isRingsideError(error)) throw error;
          }
          // Never more than the file's size in reads (plus the header): no hostile-size allocation.
          expect(requested).toBeLessThanOrEqual(2 * bytes.length + 64);
        },
      ),
      { numRuns: 400 },
    );
  });
});

type Core = ReturnType<typeof buildXenCore>;
