// Parses an ELF64 core as QEMU's dump-guest-memory writes it: PT_LOAD segments keyed by physical
// address, NT_PRSTATUS notes (general registers) and QEMU's own CPU-state notes (control registers).
// Pure: it reads through a byte-range reader and never trusts a length without checking it.
import { InputError } from '../../errors.js';
import type { RangeReader, SnapshotLayout, VcpuState } from './types.js';

export type { RangeReader };
import { isXenCore, parseXenCore } from './xen-core.js';

const PT_LOAD = 1;
const PT_NOTE = 4;
const EM_X86_64 = 62;
const EM_AARCH64 = 183;
const NT_PRSTATUS = 1;
const MAX_PROGRAM_HEADERS = 65536;
const MAX_NOTES_BYTES = 16 << 20;
/** CONFIG_NR_CPUS is at most 8192 (x86-64 and ARM64): more vCPU notes than that are a flood. */
export const MAX_VCPUS = 8192;

// struct user_regs_struct order inside elf_prstatus.pr_reg (x86-64).
const X86_PRSTATUS_REGISTERS = [
  'r15', 'r14', 'r13', 'r12', 'rbp', 'rbx', 'r11', 'r10', 'r9', 'r8', 'rax', 'rcx', 'rdx', 'rsi',
  'rdi', 'orig_rax', 'rip', 'cs', 'rflags', 'rsp', 'ss', 'fs_base', 'gs_base', 'ds', 'es', 'fs', 'gs',
]; // prettier-ignore
const X86_PRSTATUS_REG_OFFSET = 112;
const AARCH64_PRSTATUS_REG_OFFSET = 112; // x0..x30, sp, pc, pstate

// QEMU's QEMUCPUState (target/i386/arch_dump.c): version, size, 16 GPRs, rip, rflags,
// 10 segments of 24 bytes (selector, limit, flags, pad, base), cr[5], kernel_gs_base (v2).
const QEMU_GPRS = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rsp', 'rbp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15']; // prettier-ignore
const QEMU_SEGMENTS = ['cs', 'ds', 'es', 'fs', 'gs', 'ss', 'ldt', 'tr', 'gdt', 'idt'];

export function parseElfCore(name: string, fileSize: number, read: RangeReader): SnapshotLayout {
  if (fileSize < 64)
    throw new InputError(`${fileSize} bytes is too short for an ELF header`, name, {
      code: 'TRUNCATED',
      offset: 0,
    });
  const header = view(read(0, 64));
  if (header.getUint32(0, false) !== 0x7f454c46)
    throw new InputError('not an ELF file', name, { offset: 0 });
  if (header.getUint8(4) !== 2)
    throw new InputError('not a 64-bit ELF file (EI_CLASS)', name, {
      code: 'UNSUPPORTED',
      offset: 4,
    });
  if (header.getUint8(5) !== 1)
    throw new InputError('not a little-endian ELF file (EI_DATA)', name, {
      code: 'UNSUPPORTED',
      offset: 5,
    });
  if (header.getUint16(16, true) !== 4)
    throw new InputError('not an ELF core (e_type is not ET_CORE)', name, {
      code: 'UNSUPPORTED',
      offset: 16,
    });
  const machine = header.getUint16(18, true);
  const architecture =
    machine === EM_X86_64 ? 'x86_64' : machine === EM_AARCH64 ? 'aarch64' : 'unknown';
  const phoff = toSafeNumber(header.getBigUint64(32, true), name, 32);
  const phentsize = header.getUint16(54, true);
  const phnum = header.getUint16(56, true);
  if (isXenCore(header)) return parseXenCore(name, fileSize, read);
  if (phentsize < 56)
    throw new InputError(`program header size ${phentsize} is below 56`, name, { offset: 54 });
  if (phnum === 0 || phnum > MAX_PROGRAM_HEADERS)
    throw new InputError(`implausible program header count ${phnum}`, name, { offset: 56 });
  if (phoff + phnum * phentsize > fileSize) {
    throw new InputError(
      `program headers end at ${phoff + phnum * phentsize}, past the end of the file (${fileSize} bytes)`,
      name,
      { code: 'TRUNCATED', offset: phoff },
    );
  }
  const table = view(read(phoff, phnum * phentsize));
  const layout: SnapshotLayout = { format: 'elf', architecture, segments: [], vcpus: [] };
  const notes: { offset: number; size: number }[] = [];
  for (let index = 0; index < phnum; index++) {
    const base = index * phentsize;
    const type = table.getUint32(base, true);
    const offset = toSafeNumber(table.getBigUint64(base + 8, true), name, phoff + base + 8);
    const physical = table.getBigUint64(base + 24, true);
    const fileBytes = toSafeNumber(table.getBigUint64(base + 32, true), name, phoff + base + 32);
    if (type === PT_LOAD) {
      if (offset + fileBytes > fileSize) {
        throw new InputError(
          `PT_LOAD #${index} (physical 0x${physical.toString(16)}) needs bytes up to ${offset + fileBytes} but the file has ${fileSize}: truncated dump`,
          name,
          { code: 'TRUNCATED', offset },
        );
      }
      layout.segments.push({ physical, fileOffset: offset, length: fileBytes });
    } else if (type === PT_NOTE) {
      if (offset + fileBytes > fileSize || fileBytes > MAX_NOTES_BYTES) {
        throw new InputError(
          `PT_NOTE #${index} of ${fileBytes} bytes lies past the end of the file`,
          name,
          { code: 'TRUNCATED', offset },
        );
      }
      notes.push({ offset, size: fileBytes });
    }
  }
  if (layout.segments.length === 0)
    throw new InputError('the ELF core has no PT_LOAD segment: no memory in it', name);
  refuseOverlaps(name, layout.segments);
  for (const note of notes)
    parseNotes(name, note.offset, read(note.offset, note.size), architecture, layout.vcpus);
  return layout;
}

function parseNotes(
  name: string,
  fileOffset: number,
  bytes: Uint8Array,
  architecture: string,
  vcpus: VcpuState[],
): void {
  const data = view(bytes);
  let prstatusIndex = 0;
  let qemuIndex = 0;
  let position = 0;
  while (position + 12 <= bytes.length) {
    const nameSize = data.getUint32(position, true);
    const descSize = data.getUint32(position + 4, true);
    const type = data.getUint32(position + 8, true);
    const nameStart = position + 12;
    const descStart = nameStart + align4(nameSize);
    const next = descStart + align4(descSize);
    if (next > bytes.length || nameSize > 4096) {
      throw new InputError(
        `ELF note at ${fileOffset + position} runs past its PT_NOTE segment`,
        name,
        { code: 'TRUNCATED', offset: fileOffset + position },
      );
    }
    const owner = new TextDecoder().decode(
      bytes.subarray(nameStart, nameStart + Math.max(0, nameSize - 1)),
    );
    const desc = new DataView(bytes.buffer, bytes.byteOffset + descStart, descSize);
    if (
      ((owner === 'CORE' && type === NT_PRSTATUS) || owner === 'QEMU') &&
      Math.max(prstatusIndex, qemuIndex) >= MAX_VCPUS
    )
      throw new InputError(
        `more than ${MAX_VCPUS} vCPU notes (ELF note at ${fileOffset + position}): corrupt dump`,
        name,
        { offset: fileOffset + position },
      );
    if (owner === 'CORE' && type === NT_PRSTATUS) {
      const vcpu = vcpuAt(vcpus, prstatusIndex++);
      if (architecture === 'x86_64')
        readRegisters(desc, X86_PRSTATUS_REG_OFFSET, X86_PRSTATUS_REGISTERS, vcpu.registers);
      else if (architecture === 'aarch64') {
        const names = [...Array.from({ length: 31 }, (_, i) => `x${i}`), 'sp', 'pc', 'pstate'];
        readRegisters(desc, AARCH64_PRSTATUS_REG_OFFSET, names, vcpu.registers);
      }
    } else if (owner === 'QEMU' && architecture === 'x86_64') {
      const vcpu = vcpuAt(vcpus, qemuIndex++);
      parseQemuCpuState(desc, vcpu.registers);
    }
    position = next;
  }
}

/**
 * Guest RAM is stored once: PT_LOADs whose physical ranges overlap, or that reuse the same file bytes,
 * are corrupt (and would let a small file pose as terabytes of memory to every scan).
 */
export function refuseOverlaps(name: string, segments: SnapshotLayout['segments']): void {
  const loads = segments.filter((segment) => segment.length > 0);
  const byPhysical = [...loads].sort((a, b) =>
    a.physical < b.physical ? -1 : a.physical > b.physical ? 1 : 0,
  );
  for (let index = 1; index < byPhysical.length; index++) {
    const previous = byPhysical[index - 1]!;
    const current = byPhysical[index]!;
    if (current.physical < previous.physical + BigInt(previous.length))
      throw new InputError(
        `segments overlap at physical 0x${current.physical.toString(16)}: corrupt dump`,
        name,
        { offset: current.fileOffset },
      );
  }
  const byFile = [...loads].sort((a, b) => a.fileOffset - b.fileOffset);
  for (let index = 1; index < byFile.length; index++) {
    const previous = byFile[index - 1]!;
    const current = byFile[index]!;
    if (current.fileOffset < previous.fileOffset + previous.length)
      throw new InputError(
        `segments share file bytes at offset ${current.fileOffset}: corrupt dump`,
        name,
        { offset: current.fileOffset },
      );
  }
}

function parseQemuCpuState(desc: DataView, registers: Record<string, bigint>): void {
  if (desc.byteLength < 432) return; // an older or foreign layout: keep what NT_PRSTATUS gave
  readRegisters(desc, 8, [...QEMU_GPRS, 'rip', 'rflags'], registers);
  QEMU_SEGMENTS.forEach((segment, index) => {
    registers[`${segment}_base`] = desc.getBigUint64(152 + index * 24 + 16, true);
  });
  readRegisters(desc, 392, ['cr0', 'cr1', 'cr2', 'cr3', 'cr4'], registers);
  if (desc.byteLength >= 440) registers.kernel_gs_base = desc.getBigUint64(432, true);
}

function readRegisters(
  desc: DataView,
  offset: number,
  names: readonly string[],
  into: Record<string, bigint>,
): void {
  names.forEach((register, index) => {
    const at = offset + index * 8;
    if (at + 8 <= desc.byteLength) into[register] = desc.getBigUint64(at, true);
  });
}

function vcpuAt(vcpus: VcpuState[], index: number): VcpuState {
  while (vcpus.length <= index) vcpus.push({ index: vcpus.length, registers: {} });
  return vcpus[index]!;
}

// Arithmetic, not bitwise: a hostile 32-bit size must not wrap to a negative number.
const align4 = (value: number): number => Math.ceil(value / 4) * 4;
const view = (bytes: Uint8Array): DataView =>
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function toSafeNumber(value: bigint, name: string, offset: number): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER))
    throw new InputError(`field value 0x${value.toString(16)} is out of range`, name, { offset });
  return Number(value);
}
