// Hidden kernel modules: a struct module that the module list (/proc/modules, lsmod) no longer
// holds but the kernel's module tree (mod_tree) or its module kobjects (/sys/module) still do — a
// module that unlinked itself — and module memory (allocated by the module loader) that no module
// any view knows owns, a module hidden from all of them, named by the struct module found inside it.
// Reported as an integrity.violation (details.check hidden_module) naming the module, its base and
// size; live once seen in two checks in a row (a module being loaded sits between the lists for an
// instant), on a snapshot at once. Memory the kernel itself is freeing — init sections queued for or
// in do_free_init, a module going or unformed that waits for an RCU grace period — is not reported on
// a snapshot, and live only if it stays so for a minute (no grace period lasts that long).
import { defer, type Observable, type SchedulerLike } from 'rxjs';
import type { VmiEvent } from '../../introspect/events/event.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import {
  moduleCrossView,
  type ModuleSighting,
  type OrphanRegion,
} from '../../introspect/os/linux/module-views.js';
import type { ModuleInfo } from '../../introspect/os/linux/modules.js';
import { periodicEvents } from '../guest-context.js';
import { standingCheck, type EventBase } from '../standing-check.js';
import type { DetectorPlugin, PluginContext } from '../types.js';

export const HIDDEN_MODULE_INTERVAL_MS = 1000;
/** Checks in a row a hidden module must be seen in before it is reported live. */
export const HIDDEN_CONFIRMATIONS = 2;
/**
 * Checks in a row memory the kernel says it is freeing must stay so before it is reported live: a
 * grace period of a loaded emulated guest takes seconds, and a minute only when something holds it.
 */
export const LEAVING_CONFIRMATIONS = 60;
/** enum module_state: going and unformed are a module the kernel is unloading (or failed to load). */
const MODULE_STATE_GOING = 2;

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
      message: `module memory at ${hex(region.start)} (${region.size} bytes, allocated by ${region.caller}) belongs to no module the module list, mod_tree or sysfs knows${region.pendingFree ? `, and has been pending free (${region.pendingFree}) for ${LEAVING_CONFIRMATIONS} checks` : ''}`,
      seen_by: ['regions'],
      missing_from: 'list',
      allocated_by: region.caller,
      ...(region.pendingFree ? { pending_free: region.pendingFree } : {}),
    },
  };
}

/** The integrity.violation event for a module no view knows, found by its struct module in its memory. */
export function embeddedModuleEvent(
  owner: ModuleInfo,
  regions: OrphanRegion[],
  base: EventBase,
): VmiEvent {
  const where = regions.map((region) => `${hex(region.start)} (${region.size} bytes)`).join(', ');
  return {
    type: 'integrity.violation',
    ...base,
    vmi: { symbol: 'modules', hook: 'module_list', gva: owner.address },
    module: { name: owner.name, base: owner.base, size: owner.size },
    details: {
      check: 'hidden_module',
      message: `module ${owner.name} (${hex(owner.base)}, ${owner.size} bytes) is loaded but missing from the module list, mod_tree and sysfs: its struct module is in module memory at ${where}`,
      seen_by: ['memory'],
      missing_from: 'list',
      module_struct: owner.address,
      state: owner.state,
      regions: regions.map((region) => region.start),
    },
  };
}

type Hidden = (
  | { sighting: ModuleSighting }
  | { region: OrphanRegion }
  | { owner: ModuleInfo; regions: OrphanRegion[] }
) & {
  /** Memory the kernel says it is freeing (see the top of this file). */
  leaving: boolean;
};

function hiddenNow(kernel: LinuxKernel): Hidden[] {
  const view = moduleCrossView(kernel);
  const owners = new Map<bigint, { owner: ModuleInfo; regions: OrphanRegion[] }>();
  const regions: Hidden[] = [];
  for (const region of view.orphanRegions ?? []) {
    if (!region.owner) {
      regions.push({ region, leaving: region.pendingFree !== undefined });
      continue;
    }
    const entry = owners.get(region.owner.address) ?? { owner: region.owner, regions: [] };
    entry.regions.push(region);
    owners.set(region.owner.address, entry);
  }
  return [
    ...view.hidden.map((sighting) => ({ sighting, leaving: false })),
    ...[...owners.values()].map((entry) => ({
      ...entry,
      leaving: entry.owner.state >= MODULE_STATE_GOING,
    })),
    ...regions,
  ];
}

const hiddenEvent = (item: Hidden, base: EventBase): VmiEvent =>
  'sighting' in item
    ? hiddenModuleEvent(item.sighting, base)
    : 'owner' in item
      ? embeddedModuleEvent(item.owner, item.regions, base)
      : orphanRegionEvent(item.region, base);

const hiddenKey = (item: Hidden): string =>
  'sighting' in item
    ? hex(item.sighting.address)
    : 'owner' in item
      ? `embedded ${hex(item.owner.address)}`
      : `region ${hex(item.region.start)}`;

/**
 * Hidden modules of a cross-view, as events (what a snapshot check reports): not memory the kernel
 * is freeing, which a single look cannot tell from a module that only claims to be leaving.
 */
export function hiddenModuleEvents(kernel: LinuxKernel, base: EventBase): VmiEvent[] {
  return hiddenNow(kernel)
    .filter((item) => !item.leaving)
    .map((item) => hiddenEvent(item, base));
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
            key: hiddenKey,
            event: hiddenEvent,
            confirmations: (item) => (item.leaving ? LEAVING_CONFIRMATIONS : HIDDEN_CONFIRMATIONS),
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
