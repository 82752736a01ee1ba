// A live Domain over any running QEMU, with no reconfiguration: RAM read through the QEMU process,
// pause/resume, registers and reset events over its monitor, and hooks as hardware breakpoints in
// a gdbstub started through that same monitor (and stopped again on close).
import { RingsideError } from '../../errors.js';
import { GdbDomain } from '../qemu/gdb-domain.js';
import type { QmpChannel } from '../qemu/qmp.js';
import { startGdbstub } from './gdbstub.js';
import { openProcessMemory } from './open-memory.js';
import type { QemuProcess } from './qemu-processes.js';

/** Debug registers for instruction breakpoints: 4 on x86 (DR0–DR3). */
export const HARDWARE_BREAKPOINTS = 4;

export interface QemuProcessDomainOptions {
  qemu: QemuProcess;
  qmp: QmpChannel;
  name?: string;
  /** hardware (default): gdb Z1, at most 4; software: Z0 (QEMU keeps them out of guest memory under TCG, not under KVM). */
  breakpoints?: 'hardware' | 'software';
  /** One line about what was cleaned up after a Ringside killed while attached (default: stderr). */
  onCleanup?: (line: string) => void;
}

export async function openQemuProcessDomain(options: QemuProcessDomainOptions): Promise<GdbDomain> {
  const { qemu, qmp } = options;
  if (qemu.architecture !== 'x86_64')
    throw new RingsideError(
      'UNSUPPORTED',
      `pid ${qemu.pid}: hooks through QEMU's gdbstub read x86-64 registers only (this QEMU runs ${qemu.architecture})`,
    );
  const { memory } = await openProcessMemory(qemu, qmp);
  let stub;
  try {
    stub = await startGdbstub(qmp);
    if (stub.cleaned)
      (options.onCleanup ?? ((line) => process.stderr.write(`ringside: ${line}\n`)))(stub.cleaned);
  } catch (error) {
    memory.close();
    throw error;
  }
  const hardware = (options.breakpoints ?? 'hardware') === 'hardware';
  try {
    return await GdbDomain.attach({
      name: options.name ?? qemu.name ?? `qemu-${qemu.pid}`,
      gdbSocket: stub.socket,
      physical: memory,
      qmp,
      breakpoints: hardware ? 'hardware' : 'software',
      ...(hardware ? { maxBreakpoints: HARDWARE_BREAKPOINTS } : {}),
      onDetached: () => stub.stop(),
    });
  } catch (error) {
    await stub.stop().catch(() => undefined);
    memory.close();
    throw error;
  }
}
