// CR0/CR4 writes that turn off a protection, as integrity.violation events: CR0.WP (the kernel can
// write its read-only memory), CR4.SMEP and CR4.SMAP; the writer is named from the instruction pointer.
import type { VmiEvent } from '../../introspect/events/event.js';
import type { CurrentTaskLocator } from '../../introspect/os/linux/current-task.js';
import { CR0_WP, CR4_SMAP, CR4_SMEP, locateCode } from '../../introspect/os/linux/integrity.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { listModules } from '../../introspect/os/linux/modules.js';
import { currentTaskOf, envelope, processFields } from '../guest-context.js';

/** The protections a write from `old` to `value` turns off: [check, message] pairs. */
export function clearedProtections(
  register: 'cr0' | 'cr4',
  old: bigint,
  value: bigint,
): [string, string][] {
  const cleared: [string, string][] = [];
  if (register === 'cr0' && (old & CR0_WP) !== 0n && (value & CR0_WP) === 0n)
    cleared.push(['cr0.wp', 'CR0.WP turned off: the kernel can now write its read-only memory']);
  if (register === 'cr4') {
    if ((old & CR4_SMEP) !== 0n && (value & CR4_SMEP) === 0n)
      cleared.push(['cr4.smep', 'CR4.SMEP turned off']);
    if ((old & CR4_SMAP) !== 0n && (value & CR4_SMAP) === 0n)
      cleared.push(['cr4.smap', 'CR4.SMAP turned off']);
  }
  return cleared;
}

/** One integrity.violation per protection a trapped control-register write turned off. */
export function controlRegisterEvents(
  kernel: LinuxKernel,
  locator: CurrentTaskLocator,
  register: 'cr0' | 'cr4',
  event: VmiEvent,
): VmiEvent[] {
  const old = event.vmi?.old_value;
  const value = event.vmi?.new_value;
  if (old === undefined || value === undefined) return [];
  const cleared = clearedProtections(register, old, value);
  if (cleared.length === 0) return [];
  const task = currentTaskOf(kernel, event, locator);
  const rip = event.vmi?.rip ?? 0n;
  const writer = locateCode(kernel, rip, () => listModules(kernel).modules);
  return cleared.map(([check, message]) => ({
    type: 'integrity.violation' as const,
    ...envelope(event),
    process: processFields(kernel, task),
    vmi: { rip, register, old_value: old, new_value: value, symbol: register, hook: check },
    details: {
      check,
      message: `${message} (vCPU ${event.vcpu ?? 0}, from ${writer.symbol ?? `0x${rip.toString(16)}`})`,
      writer,
    },
  }));
}
