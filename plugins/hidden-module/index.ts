// Hidden kernel modules: a struct module that the module list (/proc/modules, lsmod) no longer
// holds but the kernel's module tree (mod_tree) or its module kobjects (/sys/module) still do — a
// module that unlinked itself — and module memory (allocated by the module loader) that no module
// any view knows owns, a module hidden from all of them. Reported as an integrity.violation
// (details.check hidden_module) naming the module, its base and size; live once it was hidden in
// two checks in a row (a module being loaded or freed sits between the lists for an instant), memory
// no view knows in five (a module's init sections wait for an RCU grace period to be freed), on a
// snapshot at once.
import { defer, type Observable, type SchedulerLike } from 'rxjs';
import type { VmiEvent } from '../../introspect/events/event.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import {
  moduleCrossView,
  type ModuleSighting,
  type OrphanRegion,
} from '../../introspect/os/linux/module-views.js';
import { periodicEvents } from '../guest-context.js';
import { standingCheck, type EventBase } from '../standing-check.js';
import type { DetectorPlugin, PluginContext } from '../types.js';

export const HIDDEN_MODULE_INTERVAL_MS = 1000;
/** Checks in a row module memory that no view knows must be seen in before it is reported. */
export const ORPHAN_CONFIRMATIONS = 5;

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

/** The integrity.violation event for module memory that no known module owns. */
export function orphanRegionEvent(region: OrphanRegion, base: EventBase): VmiEvent {
  return {
    type: 'integrity.violation',
    ...base,
    vmi: { symbol: 'modules', hook: 'module_list', gva: region.start },
    module: { base: region.start, size: region.size },
    details: {
      check: 'hidden_module',
      message: `module memory at ${hex(region.start)} (${region.size} bytes, allocated by ${region.caller}) belongs to no module the module list, mod_tree or sysfs knows`,
      seen_by: ['regions'],
      missing_from: 'list',
      allocated_by: region.caller,
    },
  };
}

type Hidden = { sighting: ModuleSighting } | { region: OrphanRegion };

function hiddenNow(kernel: LinuxKernel): Hidden[] {
  const view = moduleCrossView(kernel);
  return [
    ...view.hidden.map((sighting) => ({ sighting })),
    ...(view.orphanRegions ?? []).map((region) => ({ region })),
  ];
}

const hiddenEvent = (item: Hidden, base: EventBase): VmiEvent =>
  'sighting' in item
    ? hiddenModuleEvent(item.sighting, base)
    : orphanRegionEvent(item.region, base);

/** Hidden modules of a cross-view, as events (what a snapshot check reports). */
export function hiddenModuleEvents(kernel: LinuxKernel, base: EventBase): VmiEvent[] {
  return hiddenNow(kernel).map((item) => hiddenEvent(item, base));
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
            read: () => hiddenNow(kernel),
            key: (item) =>
              'sighting' in item ? hex(item.sighting.address) : `region ${hex(item.region.start)}`,
            event: hiddenEvent,
            // Memory no view knows is also what a module's init sections are between leaving
            // mod_tree and their free after an RCU grace period (do_free_init), which takes
            // seconds on a loaded emulated guest: that needs five checks in a row, not two.
            confirmations: (item) => ('sighting' in item ? 2 : ORPHAN_CONFIRMATIONS),
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
