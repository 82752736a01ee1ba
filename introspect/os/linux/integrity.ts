// The kernel's integrity targets, read the same way from a snapshot and a live guest: the system
// call table, all 256 IDT gates, the protection bits of CR0/CR4, and on ARM64 VBAR_EL1 (the
// exception vector base, which plays the IDT's role). Each check says what it
// expected and what it found; what the caller compares against (a baseline, or the kernel's own
// text) decides whether a difference is a violation.
import { isRingsideError, RingsideError } from '../../errors.js';
import { hex } from '../../memory/address.js';
import type { LinuxKernel } from './linux-kernel.js';
import { listModules, type ModuleInfo } from './modules.js';
import { nextSymbolAddress } from './profile/symbol-table.js';
import { readSyscallTable } from './syscalls.js';

export const IDT_VECTORS = 256;
const GATE_BYTES = 16;
const EARLY_IDT_STUBS = 32;

export const CR0_WP = 1n << 16n;
export const CR4_SMEP = 1n << 20n;
export const CR4_SMAP = 1n << 21n;
/** IA32_LSTAR: the 64-bit system call entry point. */
export const MSR_LSTAR = 0xc0000082n;

export interface IdtGate {
  vector: number;
  handler: bigint;
  selector: number;
  /** 0xE interrupt gate, 0xF trap gate. */
  type: number;
  dpl: number;
  ist: number;
  present: boolean;
}

/** Decodes one 16-byte x86-64 gate descriptor. */
export function decodeGate(vector: number, bytes: Uint8Array): IdtGate {
  const view = new DataView(bytes.buffer, bytes.byteOffset, GATE_BYTES);
  const low = view.getUint16(0, true);
  const selector = view.getUint16(2, true);
  const ist = view.getUint8(4) & 7;
  const attributes = view.getUint8(5);
  const middle = view.getUint16(6, true);
  const high = view.getUint32(8, true);
  return {
    vector,
    handler: (BigInt(high) << 32n) | (BigInt(middle) << 16n) | BigInt(low),
    selector,
    type: attributes & 0xf,
    dpl: (attributes >> 5) & 3,
    ist,
    present: (attributes & 0x80) !== 0,
  };
}

/** The IDT at `base` (default the kernel's idt_table). */
export function readIdt(
  kernel: LinuxKernel,
  base = kernel.symbols.address('idt_table'),
): IdtGate[] {
  if (base === undefined) return [];
  const bytes = kernel.reader.bytes(base, IDT_VECTORS * GATE_BYTES);
  return Array.from({ length: IDT_VECTORS }, (_, vector) =>
    decodeGate(vector, bytes.subarray(vector * GATE_BYTES, (vector + 1) * GATE_BYTES)),
  );
}

export interface KernelTextRange {
  start: bigint;
  end: bigint;
}

export function kernelText(kernel: LinuxKernel): KernelTextRange {
  const start = kernel.symbols.address('_stext') ?? kernel.symbols.address('_text') ?? 0n;
  return { start, end: kernel.symbols.address('_etext') ?? start };
}

export interface CodeLocation {
  where: 'kernel-text' | 'module' | 'elsewhere';
  /** `name+0xoff` in the kernel, or `[module]+0xoff`. */
  symbol?: string;
  module?: string;
}

export function symbolName(kernel: LinuxKernel, address: bigint): string | undefined {
  const nearest = kernel.symbols.nearest(address);
  if (!nearest) return undefined;
  return `${nearest.symbol.name}+0x${nearest.offset.toString(16)}`;
}

/** Where code at `address` lives; modules are listed lazily (only for addresses outside the kernel). */
export function locateCode(
  kernel: LinuxKernel,
  address: bigint,
  modules: () => ModuleInfo[],
): CodeLocation {
  const text = kernelText(kernel);
  if (address >= text.start && address < text.end) {
    const symbol = symbolName(kernel, address);
    return symbol ? { where: 'kernel-text', symbol } : { where: 'kernel-text' };
  }
  const owner = modules().find(
    (module) => address >= module.base && address < module.base + BigInt(module.size),
  );
  if (owner)
    return {
      where: 'module',
      module: owner.name,
      symbol: `[${owner.name}]+0x${(address - owner.base).toString(16)}`,
    };
  return { where: 'elsewhere' };
}

/**
 * Where a symbol's object lies: from its address to the next symbol's (the symbol table has no
 * sizes), at most `maxBytes`; undefined when the symbol is unknown.
 */
export function symbolExtent(
  kernel: LinuxKernel,
  name: string,
  maxBytes: number,
): { start: bigint; end: bigint } | undefined {
  const known = extents.get(kernel.symbols)?.get(name);
  if (known !== undefined) return known;
  const start = kernel.symbols.address(name);
  if (start === undefined) return undefined;
  const limit = start + BigInt(maxBytes);
  const next = nextSymbolAddress(kernel.symbols, start);
  const end = next !== undefined && next < limit ? next : limit;
  const extent = { start, end };
  const cached = extents.get(kernel.symbols) ?? new Map<string, { start: bigint; end: bigint }>();
  cached.set(name, extent);
  extents.set(kernel.symbols, cached);
  return extent;
}

/** Extents found so far, per symbol table (a periodic check asks every second). */
const extents = new WeakMap<object, Map<string, { start: bigint; end: bigint }>>();

export type IntegrityTarget =
  | 'syscall_table'
  | 'idt'
  | 'cr0.wp'
  | 'cr4.smep'
  | 'cr4.smap'
  | 'lstar'
  | 'vbar_el1'
  | 'inline_hook';

export interface IntegrityViolation {
  target: IntegrityTarget;
  /** What is wrong, in one line. */
  message: string;
  /** The entry's address (table entries) or the register name. */
  address?: bigint;
  /** `sys_call_table+0x…`, `idt_table+0x…`, or the register. */
  symbol: string;
  vcpu?: number;
  old_value?: bigint;
  new_value: bigint;
  /** Where the new value points, for pointers. */
  location?: CodeLocation;
}

/** Values a live check compares against: what the tables held when monitoring began. */
export interface IntegrityBaseline {
  syscalls: Map<number, bigint>;
  idt: Map<number, bigint>;
  cr0?: Map<number, bigint>;
  cr4?: Map<number, bigint>;
}

export interface CpuControlState {
  vcpu: number;
  cr0?: bigint;
  cr4?: bigint;
  lstar?: bigint;
  /** AArch64: VBAR_EL1, where exceptions (interrupts, system calls, faults) enter the kernel. */
  vbar?: bigint;
}

/**
 * The vector tables Linux/arm64 points VBAR_EL1 at: its own, the Spectre-BHB hardened copies, and the
 * KPTI trampoline (reached through its fixmap alias). Each table is 2 KiB; the hardened and trampoline
 * ones come as a few consecutive slots.
 */
const ARM64_VECTOR_TABLES = ['vectors', '__bp_harden_el1_vectors', 'tramp_vectors'];
const VECTOR_TABLE_BYTES = 0x800n;
const VECTOR_SLOTS = 8;

/** True when `vbar` is one of the kernel's vector tables, directly or through an alias of one. */
export function isKernelVectorBase(kernel: LinuxKernel, vbar: bigint): boolean {
  const physicalOf = (address: bigint): bigint | undefined => {
    const translation = kernel.reader.space.translate(address);
    return translation.ok ? translation.physical : undefined;
  };
  const physical = physicalOf(vbar);
  for (const name of ARM64_VECTOR_TABLES) {
    const base = kernel.symbols.address(name);
    if (base === undefined) continue;
    for (let slot = 0n; slot < BigInt(VECTOR_SLOTS); slot++) {
      const table = base + slot * VECTOR_TABLE_BYTES;
      if (vbar === table) return true;
      if (physical !== undefined && physicalOf(table) === physical) return true;
    }
  }
  return false;
}

export function takeBaseline(
  kernel: LinuxKernel,
  cpus: readonly CpuControlState[] = [],
): IntegrityBaseline {
  return {
    syscalls: new Map(readSyscallTable(kernel).map((entry) => [entry.index, entry.target])),
    idt: new Map(readIdt(kernel).map((gate) => [gate.vector, gate.handler])),
    cr0: new Map(cpus.filter((c) => c.cr0 !== undefined).map((c) => [c.vcpu, c.cr0!])),
    cr4: new Map(cpus.filter((c) => c.cr4 !== undefined).map((c) => [c.vcpu, c.cr4!])),
  };
}

/**
 * Checks the integrity targets. Without a baseline (a snapshot), a table entry is a violation when
 * it points outside the kernel's text; with one (live), also when it differs from the baseline.
 * CR0.WP clear is always a violation; SMEP/SMAP only when the baseline had them set (the vCPU model
 * may lack them). LSTAR is checked when the backend could read it.
 */
export function checkIntegrity(
  kernel: LinuxKernel,
  cpus: readonly CpuControlState[] = [],
  baseline?: IntegrityBaseline,
): IntegrityViolation[] {
  const violations: IntegrityViolation[] = [];
  let moduleList: ModuleInfo[] | undefined;
  const modules = (): ModuleInfo[] => (moduleList ??= listModules(kernel).modules);
  const text = kernelText(kernel);
  const inText = (address: bigint): boolean => address >= text.start && address < text.end;

  const table = kernel.symbols.address('sys_call_table');
  if (table !== undefined) {
    for (const entry of readNamed(`sys_call_table at ${hex(table)}`, () =>
      readSyscallTable(kernel),
    )) {
      const before = baseline?.syscalls.get(entry.index);
      const changed = before !== undefined && before !== entry.target;
      if (!changed && inText(entry.target) && !entry.suspicious) continue;
      const location = locateCode(kernel, entry.target, modules);
      violations.push({
        target: 'syscall_table',
        message: `system call ${entry.index} points ${changed ? `to ${hex(entry.target)} instead of ${hex(before)}` : `outside the kernel text (${location.symbol ?? hex(entry.target)})`}`,
        address: table + BigInt(entry.index * 8),
        symbol: `sys_call_table+0x${(entry.index * 8).toString(16)}`,
        ...(before !== undefined ? { old_value: before } : {}),
        new_value: entry.target,
        location,
      });
    }
  }

  // Exception vectors the kernel never re-points (reserved ones, MCE without machine-check support)
  // keep their early-boot stubs in early_idt_handler_array, in init text. The stubs' size depends
  // on the build (9 bytes; 13 with IBT's ENDBR on 6.2+), so the array's extent is taken from the
  // kernel's own symbols: up to the next one (early_idt_handler_common).
  const earlyStubs = symbolExtent(kernel, 'early_idt_handler_array', EARLY_IDT_STUBS * 13);
  const earlyStub = (address: bigint): boolean =>
    earlyStubs !== undefined && address >= earlyStubs.start && address < earlyStubs.end;
  const idt = kernel.symbols.address('idt_table');
  if (idt !== undefined) {
    for (const gate of readNamed(`idt_table at ${hex(idt)}`, () => readIdt(kernel, idt))) {
      const before = baseline?.idt.get(gate.vector);
      const changed = before !== undefined && before !== gate.handler;
      if (!changed && (!gate.present || inText(gate.handler) || earlyStub(gate.handler))) continue;
      const location = locateCode(kernel, gate.handler, modules);
      violations.push({
        target: 'idt',
        message: `IDT vector ${gate.vector} handler ${changed ? `changed from ${hex(before)} to ${hex(gate.handler)}` : `is outside the kernel text (${location.symbol ?? hex(gate.handler)})`}`,
        address: idt + BigInt(gate.vector * GATE_BYTES),
        symbol: `idt_table+0x${(gate.vector * GATE_BYTES).toString(16)}`,
        ...(before !== undefined ? { old_value: before } : {}),
        new_value: gate.handler,
        location,
      });
    }
  }

  const entry = kernel.symbols.address('entry_SYSCALL_64');
  for (const cpu of cpus) {
    if (cpu.cr0 !== undefined && (cpu.cr0 & CR0_WP) === 0n) {
      const before = baseline?.cr0?.get(cpu.vcpu);
      violations.push({
        target: 'cr0.wp',
        message: `CR0.WP is clear on vCPU ${cpu.vcpu}: the kernel can write its read-only memory`,
        symbol: 'cr0',
        vcpu: cpu.vcpu,
        ...(before !== undefined ? { old_value: before } : {}),
        new_value: cpu.cr0,
      });
    }
    const before4 = baseline?.cr4?.get(cpu.vcpu);
    if (cpu.cr4 !== undefined && before4 !== undefined) {
      for (const [bit, target, name] of [
        [CR4_SMEP, 'cr4.smep', 'SMEP'],
        [CR4_SMAP, 'cr4.smap', 'SMAP'],
      ] as const) {
        if ((before4 & bit) !== 0n && (cpu.cr4 & bit) === 0n) {
          violations.push({
            target,
            message: `CR4.${name} was turned off on vCPU ${cpu.vcpu}`,
            symbol: 'cr4',
            vcpu: cpu.vcpu,
            old_value: before4,
            new_value: cpu.cr4,
          });
        }
      }
    }
    if (cpu.vbar !== undefined && !isKernelVectorBase(kernel, cpu.vbar)) {
      violations.push({
        target: 'vbar_el1',
        message: `VBAR_EL1 on vCPU ${cpu.vcpu} points to ${hex(cpu.vbar)}, not one of the kernel's vector tables`,
        symbol: 'vbar_el1',
        vcpu: cpu.vcpu,
        new_value: cpu.vbar,
        location: locateCode(kernel, cpu.vbar, modules),
      });
    }
    if (cpu.lstar !== undefined && entry !== undefined && cpu.lstar !== entry) {
      violations.push({
        target: 'lstar',
        message: `MSR LSTAR on vCPU ${cpu.vcpu} points to ${hex(cpu.lstar)}, not entry_SYSCALL_64`,
        symbol: 'msr:lstar',
        vcpu: cpu.vcpu,
        old_value: entry,
        new_value: cpu.lstar,
        location: locateCode(kernel, cpu.lstar, modules),
      });
    }
  }
  return violations;
}

/** A read whose failure names the structure it was reading (so a warning says what is missing). */
function readNamed<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!isRingsideError(error)) throw error;
    throw new RingsideError(error.code, `${what}: ${error.message}`, { cause: error });
  }
}
