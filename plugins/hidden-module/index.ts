// Hidden kernel modules: a struct module that the module list (/proc/modules, lsmod) no longer
// holds but the kernel's module tree (mod_tree) or its module kobjects (/sys/module) still do — a
// module that unlinked itself. Reported as an integrity.violation (details.check hidden_module)
// naming the module, its base and size; live once it was hidden in two checks in a row (a module
// being loaded or freed sits between the lists for an instant), on a snapshot at once.
import { defer, type Observable, type SchedulerLike } from 'rxjs';
import type { VmiEvent } from '../../introspect/events/event.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { moduleCrossView, type ModuleSighting } from '../../introspect/os/linux/module-views.js';
import { periodicEvents } from '../guest-context.js';
import { standingCheck, type EventBase } from '../standing-check.js';
import type { DetectorPlugin, PluginContext } from '../types.js';

export const HIDDEN_MODULE_INTERVAL_MS = 1000;

const hex = (value: bigint): string => `0x${value.toString(16)}`;

/** The integrity.violation event for a module missing from the module list. */
export function hiddenModuleEvent(sighting: ModuleSighting, base: EventBase): VmiEvent {
  const seenBy = Object.entries(sighting.views)
    .filter(([, seen]) => seen)
    .map(([name]) => name);
  const module = sighting.module;
  const name = module?.name || `struct module ${hex(sighting.address)}`;
  return {
    type: 'integrity.violation',
    ...base,
    vmi: { symbol: 'modules', hook: 'module_list', gva: sighting.address },
    ...(module ? { module: { name: module.name, base: module.base, size: module.size } } : {}),
    details: {
      check: 'hidden_module',
      message: `module ${name}${module ? ` (${hex(module.base)}, ${module.size} bytes)` : ''} is loaded but missing from the module list (seen by ${seenBy.join(', ')})`,
      seen_by: seenBy,
      missing_from: 'list',
      module_struct: sighting.address,
      ...(module ? { state: module.state } : {}),
      ...(sighting.unreadable ? { unreadable: sighting.unreadable } : {}),
    },
  };
}

/** Hidden modules of a cross-view, as events (what a snapshot check reports). */
export function hiddenModuleEvents(kernel: LinuxKernel, base: EventBase): VmiEvent[] {
  return moduleCrossView(kernel).hidden.map((sighting) => hiddenModuleEvent(sighting, base));
}

export interface HiddenModuleOptions {
  intervalMs?: number;
  /** The periodic check's clock (rxjs' async scheduler unless a test gives a virtual one). */
  scheduler?: SchedulerLike;
}

export function createHiddenModule(options: HiddenModuleOptions = {}): DetectorPlugin {
  return {
    meta: {
      id: 'hidden-module',
      version: '1.0.0',
      description:
        'Modules missing from the module list but present in mod_tree or the module kobjects (self-hiding rootkits)',
      architectures: ['x86_64', 'aarch64'],
      // mod_tree and module_kset are the other views where the kernel has them; the list is the
      // one the check cannot do without.
      symbols: ['modules'],
      capabilities: { live: [true] },
      emits: ['integrity.violation'],
    },
    start({ domain, kernel }: PluginContext): Observable<VmiEvent> {
      return defer(() =>
        periodicEvents(
          options.intervalMs ?? HIDDEN_MODULE_INTERVAL_MS,
          standingCheck(domain, kernel, {
            read: () => moduleCrossView(kernel).hidden,
            key: (sighting) => hex(sighting.address),
            event: hiddenModuleEvent,
            confirmations: 2,
          }),
          options.scheduler,
        ),
      );
    },
    judge: async ({ kernel, domain, timestamp }) =>
      hiddenModuleEvents(kernel, { domain, time: performance.now(), timestamp }),
  };
}

export const hiddenModule = createHiddenModule();
