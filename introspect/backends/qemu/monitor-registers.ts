// vCPU registers of any running QEMU through its monitor (HMP `info registers -a` over QMP or
// libvirt's pass-through), for a guest without Ringside's plugin: CR3, CR0, CR4, RIP… per vCPU.
import { RingsideError } from '../../errors.js';
import type { VcpuState } from '../../domain/vcpu.js';
import type { QmpChannel } from './qmp.js';

/** HMP names → VcpuState names (32-bit names are widened to their 64-bit registers). */
const NAMES: Record<string, string> = {
  RAX: 'rax', RBX: 'rbx', RCX: 'rcx', RDX: 'rdx', RSI: 'rsi', RDI: 'rdi', RBP: 'rbp', RSP: 'rsp',
  R8: 'r8', R9: 'r9', R10: 'r10', R11: 'r11', R12: 'r12', R13: 'r13', R14: 'r14', R15: 'r15',
  EAX: 'rax', EBX: 'rbx', ECX: 'rcx', EDX: 'rdx', ESI: 'rsi', EDI: 'rdi', EBP: 'rbp', ESP: 'rsp',
  RIP: 'rip', EIP: 'rip', RFL: 'rflags', EFL: 'rflags', CPL: 'cpl',
  CR0: 'cr0', CR2: 'cr2', CR3: 'cr3', CR4: 'cr4', EFER: 'efer',
  DR0: 'dr0', DR1: 'dr1', DR2: 'dr2', DR3: 'dr3', DR6: 'dr6', DR7: 'dr7',
}; // prettier-ignore

/** At most this many vCPUs are parsed (QEMU's own limit on x86 is 4096 or so). */
const MAX_VCPUS = 8192;

/**
 * Parses x86 `info registers -a` (one `CPU#N` block per vCPU; `info registers` alone gives one block
 * without the header, taken as vCPU 0). FS/GS give their bases as fs_base/gs_base. Unknown lines are
 * skipped; a text with no register at all is an error.
 */
export function parseInfoRegisters(text: string): VcpuState[] {
  const vcpus: VcpuState[] = [];
  let current: VcpuState | undefined;
  for (const line of text.split('\n')) {
    const header = /^CPU#(\d+)/.exec(line);
    if (header) {
      if (vcpus.length >= MAX_VCPUS) break;
      current = { index: Number(header[1]), registers: {} };
      vcpus.push(current);
      continue;
    }
    const segment = /^(FS|GS) =[0-9a-f]{4} ([0-9a-f]{8,16}) /.exec(line);
    if (segment) {
      current ??= vcpus[vcpus.push({ index: 0, registers: {} }) - 1]!;
      current.registers[`${segment[1]!.toLowerCase()}_base`] = BigInt(`0x${segment[2]!}`);
      continue;
    }
    for (const match of line.matchAll(/\b([A-Z][A-Z0-9]{1,3}) ?=([0-9a-f]{1,16})\b/g)) {
      const name = NAMES[match[1]!];
      if (!name) continue;
      current ??= vcpus[vcpus.push({ index: 0, registers: {} }) - 1]!;
      current.registers[name] = BigInt(`0x${match[2]!}`);
    }
  }
  const parsed = vcpus.filter((vcpu) => Object.keys(vcpu.registers).length > 0);
  if (parsed.length === 0)
    throw new RingsideError(
      'BACKEND',
      `info registers: no x86 register in QEMU's answer (${text.slice(0, 80).trim() || 'empty'})`,
    );
  return parsed;
}

/** Every vCPU's registers, as QEMU's monitor reports them now (no plugin, no gdbstub needed). */
export async function readVcpuStates(qmp: QmpChannel): Promise<VcpuState[]> {
  return parseInfoRegisters(
    await qmp.execute<string>('human-monitor-command', { 'command-line': 'info registers -a' }),
  );
}
