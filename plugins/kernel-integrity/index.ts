// Kernel integrity, live: write traps on the frames of the syscall table, the IDT and the kernel
// text (any write, through any alias, is seen with the writer's rip and the bytes before and after;
// with the TCG plugin they are armed while a vCPU runs with CR0.WP clear, see `writeTraps`);
// traps on CR0/CR4 writes that turn off WP, SMEP or SMAP; and a periodic check of every syscall
// entry and IDT gate against what monitoring began with, for writes the traps cannot see (DMA, a
// backend without traps). Legitimate kernel self-patching (text_poke through the poking mm, used by
// static keys, alternatives and ftrace) is told apart by the address it writes through. This file
// composes them: write-traps, write-event, control-registers and periodic-check each do one part.
import { merge, type Observable, type SchedulerLike } from 'rxjs';
import { loadDisassembler } from '../../introspect/disasm/x86.js';
import { isRingsideError } from '../../introspect/errors.js';
import type { VmiEvent } from '../../introspect/events/event.js';
import { currentTaskLocator } from '../../introspect/os/linux/current-task.js';
import { findInlineHooks } from '../../introspect/os/linux/inline-hooks.js';
import { CR0_WP, checkIntegrity, takeBaseline } from '../../introspect/os/linux/integrity.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { hookEvents, periodicEvents, unreadable } from '../guest-context.js';
import type { DetectorPlugin, PluginContext } from '../types.js';
import { controlRegisterEvents } from './control-registers.js';
import { violationEvent } from './evidence.js';
import { integrityCheck } from './periodic-check.js';
import { linuxRegions, type ProtectedRegions } from './regions.js';
import { kernelWriteEvent } from './write-event.js';
import { WriteTraps, type WriteTrapMode } from './write-traps.js';

/** How often the periodic check runs (ms). */
export const INTEGRITY_INTERVAL_MS = 1000;

export interface KernelIntegrityOptions {
  intervalMs?: number;
  /** The periodic check's clock (rxjs' async scheduler unless a test gives a virtual one). */
  scheduler?: SchedulerLike;
  /**
   * When write traps on the protected frames are armed: always, or only while a vCPU has CR0.WP
   * clear. Default: always with hardware traps (EPT), while-wp-clear with the TCG plugin.
   */
  writeTraps?: WriteTrapMode;
  /** On a snapshot, scan every function's start for inline hooks (default true). */
  inlineHooks?: boolean;
}

export function createKernelIntegrity(options: KernelIntegrityOptions = {}): DetectorPlugin {
  return {
    meta: {
      id: 'kernel-integrity',
      version: '1.0.0',
      description:
        'Writes to the syscall table, IDT and kernel text; CR0.WP/CR4.SMEP/SMAP turned off; periodic table checks',
      architectures: ['x86_64', 'aarch64'],
      // The IDT (x86-64) and VBAR_EL1 (AArch64) are found per architecture; live, the traps need
      // the TCG plugin's or EPT's frame traps and CR-write traps, which only x86-64 decodes today.
      symbols: ['sys_call_table', '_stext', '_etext'],
      capabilities: { live: [true], memAccess: ['tcg-plugin', 'ept'], registerWriteTraps: [true] },
      emits: ['kernel.write', 'integrity.violation'],
    },
    start({ domain, kernel }: PluginContext): Observable<VmiEvent> {
      const locator = currentTaskLocator(kernel);
      // Capstone loads now, as the detector starts, not on the first write while its vCPU is held
      // (hooks are planted meanwhile, so nothing is missed; a failure shows at the first use).
      loadDisassembler(kernel.arch.disassembly).catch(() => undefined);
      const regions = linuxRegions(kernel);
      const write = {
        kernel,
        regions,
        locator,
        pokingAddress: readPokingAddress(kernel),
        responder: domain.responder,
      };
      const traps = new WriteTraps(
        domain,
        regions,
        options.writeTraps ??
          (domain.capabilities.memAccess === 'ept' ? 'always' : 'while-wp-clear'),
        ({ event }) => kernelWriteEvent(write, event),
      );
      const registerTrap = (register: 'cr0' | 'cr4'): Observable<VmiEvent> =>
        hookEvents(
          domain,
          { kind: 'register', register, name: `kernel-integrity:${register}` },
          (context) => {
            const { event } = context;
            const value = event.vmi?.new_value;
            if (
              register === 'cr0' &&
              value !== undefined &&
              traps.onCr0(event.vcpu ?? 0, value, CR0_WP)
            )
              // The traps reach the plugin before this vCPU resumes; the mov to CR0 ends its
              // translation block, and the plugin starts the flush before the next one.
              context.hold(new Promise((resolve) => setImmediate(resolve)));
            return controlRegisterEvents(kernel, locator, register, event);
          },
          (event, error) =>
            unreadable('integrity.violation', event, `the ${register} write`, error),
        );
      const periodic = periodicEvents(
        options.intervalMs ?? INTEGRITY_INTERVAL_MS,
        integrityCheck(domain, kernel, takeBaseline(kernel)),
        options.scheduler,
      );
      return merge(traps.events(), registerTrap('cr0'), registerTrap('cr4'), periodic);
    },
    judge: async ({ kernel, domain, cpus, timestamp }) => {
      const base = { domain, time: performance.now(), timestamp };
      const events: VmiEvent[] = [];
      // The inline-hook scan reads the whole text: on a snapshot only (live, the write traps see
      // every text write as it happens).
      const hooks = options.inlineHooks === false ? [] : findInlineHooks(kernel).violations;
      for (const violation of [...checkIntegrity(kernel, cpus), ...hooks])
        events.push(await violationEvent(kernel, violation, base));
      return events;
    },
  };
}

function readPokingAddress(kernel: LinuxKernel): bigint | undefined {
  const variable = kernel.symbols.address('poking_addr');
  if (variable === undefined) return undefined;
  try {
    return kernel.reader.u64(variable);
  } catch (error) {
    if (isRingsideError(error)) return undefined;
    throw error;
  }
}

export const kernelIntegrity = createKernelIntegrity();

/** Regions, for tests and benchmarks that want to see what is protected. */
export { linuxRegions, type ProtectedRegions };
