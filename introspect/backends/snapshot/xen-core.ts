// Parses a Xen dump-core (`xl dump-core`): an ELF64 ET_CORE with no program headers whose sections
// hold the pages (.xen_pages), their frame numbers (.xen_pfn for HVM/PVH; .xen_p2m's guest/machine frame
// pairs for PV) and every vCPU's vcpu_guest_context (.xen_prstatus). Pure, and bounded like the ELF parser.
import { InputError } from '../../errors.js';
import type { RangeReader, SnapshotLayout } from './types.js';

const SECTION_HEADER_SIZE = 64;
const MAX_SECTIONS = 64;
const MAX_NAMES_BYTES = 64 << 10;
const MAX_VCPUS = 4096;
const PAGE = 4096;
const EM_X86_64 = 62;

// struct vcpu_guest_context (x86-64, public/arch-x86/xen-x86_64.h): fpu_ctxt[512], flags, then
// cpu_user_regs (15 GPRs, error_code/entry_vector, rip, cs, rflags, rsp, ss, es, ds, fs, gs), the
// trap table, LDT/GDT fields, kernel_ss/sp, ctrlreg[8], debugreg[8], callbacks, fs/gs bases.
const CONTEXT_SIZE = 5168;
const USER_REGS = 520;
const GPRS = ['r15', 'r14', 'r13', 'r12', 'rbp', 'rbx', 'r11', 'r10', 'r9', 'r8', 'rax', 'rcx', 'rdx', 'rsi', 'rdi']; // prettier-ignore
const CTRLREG = 4984;
const FS_BASE = 5144;

// x86-64 and AArch64 physical addresses have at most 52 bits: a larger frame number is hostile.
const MAX_FRAME = (1n << 40n) - 1n;

interface Section {
  name: string;
  offset: number;
  size: number;
  nobits: boolean;
}

/** True when an ELF64 header (64 bytes) is a Xen dump-core's: ET_CORE with no program header. */
export function isXenCore(header: DataView): boolean {
  return header.getUint16(16, true) === 4 && header.getUint16(56, true) === 0;
}

export function parseXenCore(name: string, fileSize: number, read: RangeReader): SnapshotLayout {
  const header = view(read(0, 64));
  const machine = header.getUint16(18, true);
  const shoff = safe(header.getBigUint64(40, true), name, 40);
  const shentsize = header.getUint16(58, true);
  const shnum = header.getUint16(60, true);
  const shstrndx = header.getUint16(62, true);
  if (shentsize < SECTION_HEADER_SIZE || shnum === 0 || shnum > MAX_SECTIONS || shstrndx >= shnum)
    throw new InputError(
      `an ELF core with no program header and ${shnum} sections (entry size ${shentsize}) is not a Xen dump-core`,
      name,
      { code: 'UNSUPPORTED', offset: 58 },
    );
  if (shoff + shnum * shentsize > fileSize)
    throw new InputError('the section headers lie past the end of the file', name, {
      code: 'TRUNCATED',
      offset: shoff,
    });
  const table = view(read(shoff, shnum * shentsize));
  const raw = Array.from({ length: shnum }, (_, index) => {
    const base = index * shentsize;
    const offset = safe(table.getBigUint64(base + 24, true), name, shoff + base + 24);
    const size = safe(table.getBigUint64(base + 32, true), name, shoff + base + 32);
    if (table.getUint32(base + 4, true) !== 8 /* SHT_NOBITS */ && offset + size > fileSize)
      throw new InputError(
        `section #${index} needs bytes up to ${offset + size} but the file has ${fileSize}: truncated dump`,
        name,
        { code: 'TRUNCATED', offset },
      );
    const nobits = table.getUint32(base + 4, true) === 8;
    return { nameOffset: table.getUint32(base, true), offset, size, nobits };
  });
  const strings = raw[shstrndx]!;
  if (strings.size > MAX_NAMES_BYTES || strings.nobits)
    throw new InputError(`a section-name table of ${strings.size} bytes`, name, {
      offset: strings.offset,
    });
  const names = read(strings.offset, strings.size);
  const sections = new Map<string, Section>();
  for (const section of raw) {
    const end = names.indexOf(0, section.nameOffset);
    if (section.nameOffset >= names.length || end < 0) continue;
    const label = new TextDecoder().decode(names.subarray(section.nameOffset, end));
    sections.set(label, {
      name: label,
      offset: section.offset,
      size: section.size,
      nobits: section.nobits,
    });
  }
  for (const used of ['.xen_pages', '.xen_pfn', '.xen_p2m', '.xen_prstatus'])
    if (sections.get(used)?.nobits)
      throw new InputError(`${used} is marked as holding no bytes in the file (SHT_NOBITS)`, name, {
        code: 'UNSUPPORTED',
        offset: sections.get(used)!.offset,
      });
  const pages = sections.get('.xen_pages');
  const pfn = sections.get('.xen_pfn');
  const p2m = sections.get('.xen_p2m');
  if (!pages || (!pfn && !p2m))
    throw new InputError(
      'an ELF core with no program header and no .xen_pages/.xen_pfn sections: not a Xen dump-core',
      name,
      { code: 'UNSUPPORTED', offset: shoff },
    );
  // HVM/PVH: .xen_pfn lists each page's guest frame. PV: .xen_p2m pairs it with the machine frame
  // (struct xen_dumpcore_p2m { pfn; gmfn; }), because a PV guest's page-table entries and CR3 name
  // machine frames; the layout stays by guest frame and `entryFrame` maps entries back to it.
  const count = Math.floor(pages.size / PAGE);
  const entry = pfn ? 8 : 16;
  const frames = pfn ?? p2m!;
  if (frames.size < count * entry)
    throw new InputError(
      `${frames.name} lists ${Math.floor(frames.size / entry)} frames for ${count} pages`,
      name,
      { code: 'TRUNCATED', offset: frames.offset },
    );
  const list = view(read(frames.offset, count * entry));
  const layout: SnapshotLayout = {
    format: 'xen',
    architecture: machine === EM_X86_64 ? 'x86_64' : 'unknown',
    segments: [],
    vcpus: [],
  };
  const machineFrames = pfn ? undefined : new Map<number, number>();
  // Consecutive frames stored next to each other become one segment.
  for (let index = 0; index < count; index++) {
    const frame = list.getBigUint64(index * entry, true);
    if (frame === 0xffffffffffffffffn) continue; // an invalid entry, as xc_domain_dumpcore writes
    const mfn = machineFrames ? list.getBigUint64(index * entry + 8, true) : 0n;
    if (frame > MAX_FRAME || mfn > MAX_FRAME)
      throw new InputError(
        `${frames.name} entry #${index} names frame 0x${(frame > MAX_FRAME ? frame : mfn).toString(16)}, past any physical address`,
        name,
        { offset: frames.offset + index * entry },
      );
    if (machineFrames) {
      if (mfn === 0xffffffffffffffffn) continue;
      // Two guest frames on one machine frame: the pairs are not a translation; keep the first.
      if (!machineFrames.has(Number(mfn))) machineFrames.set(Number(mfn), Number(frame));
    }
    const physical = frame * BigInt(PAGE);
    const fileOffset = pages.offset + index * PAGE;
    const last = layout.segments.at(-1);
    if (
      last &&
      last.physical + BigInt(last.length) === physical &&
      last.fileOffset + last.length === fileOffset
    )
      last.length += PAGE;
    else layout.segments.push({ physical, fileOffset, length: PAGE });
  }
  if (layout.segments.length === 0)
    throw new InputError('the Xen dump-core holds no page', name, { offset: pages.offset });
  if (machineFrames) {
    layout.entryFrame = (mfn) => {
      const frame = machineFrames.get(Number(mfn));
      return frame === undefined ? undefined : BigInt(frame);
    };
  }
  const status = sections.get('.xen_prstatus');
  if (status && layout.architecture === 'x86_64') {
    const vcpus = Math.min(Math.floor(status.size / CONTEXT_SIZE), MAX_VCPUS);
    for (let index = 0; index < vcpus; index++) {
      const context = view(read(status.offset + index * CONTEXT_SIZE, CONTEXT_SIZE));
      const registers: Record<string, bigint> = {};
      GPRS.forEach((register, at) => {
        registers[register] = context.getBigUint64(USER_REGS + at * 8, true);
      });
      registers.rip = context.getBigUint64(USER_REGS + 128, true);
      registers.cs = BigInt(context.getUint16(USER_REGS + 136, true));
      registers.rflags = context.getBigUint64(USER_REGS + 144, true);
      registers.rsp = context.getBigUint64(USER_REGS + 152, true);
      for (const cr of [0, 2, 3, 4])
        registers[`cr${cr}`] = context.getBigUint64(CTRLREG + cr * 8, true);
      // A PV vCPU's CR3 names the machine frame of its top-level table: give the guest frame.
      if (layout.entryFrame) {
        const root = layout.entryFrame(registers.cr3! >> 12n);
        registers.cr3 = root === undefined ? 0n : (root << 12n) | (registers.cr3! & 0xfffn);
      }
      registers.fs_base = context.getBigUint64(FS_BASE, true);
      registers.kernel_gs_base = context.getBigUint64(FS_BASE + 8, true);
      registers.gs_base = context.getBigUint64(FS_BASE + 16, true);
      layout.vcpus.push({ index, registers });
    }
  }
  return layout;
}

const view = (bytes: Uint8Array): DataView =>
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function safe(value: bigint, name: string, offset: number): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER))
    throw new InputError(`field value 0x${value.toString(16)} is out of range`, name, { offset });
  return Number(value);
}
