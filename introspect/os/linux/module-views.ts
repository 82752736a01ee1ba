// A cross-view of the loaded modules: the module list (/proc/modules) against the kernel's other
// records of them — the latch tree of module memory (`mod_tree`, used to resolve addresses), the
// module kobjects under /sys/module (`module_kset`) — so a module unlinked from the list is found;
// and module memory (vmalloc areas the module loader allocated) that no module known to any view owns,
// with the struct module found inside it, or the kernel's record that it is init memory being freed.
import { isRingsideError } from '../../errors.js';
import { pendingInitFree } from './init-free.js';
import type { LinuxKernel } from './linux-kernel.js';
import { walkList, type WalkProblem } from './list-walk.js';
import { findEmbeddedModules } from './module-owners.js';
import { listModules, moduleMemory, readModule, type ModuleInfo } from './modules.js';
import { walkRbTree } from './rbtree-walk.js';
import { listVmapAreas } from './vmap-areas.js';

export const MODULE_VIEW_NAMES = ['list', 'modTree', 'kobjects'] as const;
export type ModuleViewName = (typeof MODULE_VIEW_NAMES)[number];

/** One struct module as the views saw it. */
export interface ModuleSighting {
  address: bigint;
  /** Read from the struct module (absent when it could not be read). */
  module?: ModuleInfo;
  views: Record<ModuleViewName, boolean>;
  /** Why the struct module could not be read. */
  unreadable?: string;
}

/** Module memory (allocated by the module loader) that no module any view knows owns. */
export interface OrphanRegion {
  start: bigint;
  size: number;
  /** The loader's code that allocated it, `name+0xoff`. */
  caller: string;
  /**
   * The struct module found inside module memory no view knows that names this region as its own:
   * a module hidden from every view (state live or coming), or one the kernel is loading or freeing
   * (going, unformed: off the lists while it waits for an RCU grace period).
   */
  owner?: ModuleInfo;
  /**
   * No module owns it, but the kernel is freeing it as a module's init sections: `queued` on
   * init_free_list (named by a mod_initfree), or `in-flight` while a worker runs do_free_init (which
   * took the list off before its RCU grace period, so the region is named nowhere else).
   */
  pendingFree?: 'queued' | 'in-flight';
}

/** The module loader's functions: vm_struct.caller of a module's memory lies in one of them. */
export const MODULE_LOADER_CALLERS: readonly string[] = [
  'load_module',
  'move_module',
  'module_memory_alloc',
  'layout_and_allocate',
];

export interface ModuleCrossView {
  modules: ModuleSighting[];
  /** Modules some view knows but the module list does not. */
  hidden: ModuleSighting[];
  /**
   * Module memory no known module owns; undefined when the kernel's vmalloc areas cannot be read
   * or none of them is told apart as module memory (then this view says nothing).
   */
  orphanRegions?: OrphanRegion[];
  /** The views that could be read at all (a kernel without mod_tree has no modTree view). */
  available: ModuleViewName[];
  problems: WalkProblem[];
}

/** No kernel has this many modules; a walk past it is corrupt or hostile memory. */
export const MODULE_VIEW_LIMIT = 8192;

function guarded<T>(problems: WalkProblem[], address: bigint, what: string, read: () => T) {
  try {
    return read();
  } catch (error) {
    if (!isRingsideError(error)) throw error;
    problems.push({ address, message: `${what}: ${error.message}` });
    return undefined;
  }
}

/**
 * struct modules in `mod_tree` (tree[0] of its latch tree; each node is a mod_tree_node inside the
 * module, in core_layout on 6.1 and in each mem[] region from 6.4 on), deduplicated.
 */
export function modTreeModules(kernel: LinuxKernel, problems: WalkProblem[]): bigint[] | undefined {
  const r = kernel.reader;
  const tree = kernel.symbols.address('mod_tree');
  if (tree === undefined || !r.hasField('mod_tree_node', 'mod')) return undefined;
  const root = guarded(
    problems,
    tree,
    'mod_tree',
    () => tree + r.offset('mod_tree_root', 'root') + r.offset('latch_tree_root', 'tree'),
  );
  if (root === undefined) return undefined;
  const walk = walkRbTree(r, root, MODULE_VIEW_LIMIT);
  if (walk.problem)
    problems.push({ ...walk.problem, message: `mod_tree: ${walk.problem.message}` });
  const nodeOffset = r.offset('mod_tree_node', 'node');
  const modOffset = r.offset('mod_tree_node', 'mod');
  const moduleSize = BigInt(r.types.sizeOf(r.types.findStruct('module') ?? -1));
  const found = new Set<bigint>();
  for (const node of walk.nodes) {
    const mtn = node - nodeOffset;
    const module = guarded(problems, mtn, 'mod_tree node', () => r.u64(mtn + modOffset));
    if (module === undefined) continue;
    // The node lives inside its own struct module: one that does not is not a module's.
    if (mtn < module || mtn >= module + moduleSize) {
      problems.push({
        address: mtn,
        message: `mod_tree node 0x${mtn.toString(16)} names module 0x${module.toString(16)} it is not part of`,
      });
      continue;
    }
    found.add(module);
  }
  return [...found];
}

/** struct modules behind the kobjects of `module_kset` (built-in modules have none: mod is NULL). */
export function kobjectModules(kernel: LinuxKernel, problems: WalkProblem[]): bigint[] | undefined {
  const r = kernel.reader;
  const pointer = kernel.symbols.address('module_kset');
  if (pointer === undefined || !r.hasField('module_kobject', 'mod')) return undefined;
  const kset = guarded(problems, pointer, 'module_kset', () => r.u64(pointer));
  if (kset === undefined || kset === 0n) return undefined;
  const walk = walkList(r, kset + r.offset('kset', 'list'), MODULE_VIEW_LIMIT);
  if (walk.problem)
    problems.push({ ...walk.problem, message: `module_kset: ${walk.problem.message}` });
  const entry = r.offset('kobject', 'entry');
  const kobj = r.offset('module_kobject', 'kobj');
  const mod = r.offset('module_kobject', 'mod');
  const found = new Set<bigint>();
  for (const node of walk.nodes) {
    const holder = node - entry - kobj;
    const module = guarded(problems, holder, 'module kobject', () => r.u64(holder + mod));
    if (module !== undefined && module !== 0n) found.add(module);
  }
  return [...found];
}

/** Every module any view knows, with the views that know it; hidden = missing from the list. */
export function moduleCrossView(kernel: LinuxKernel): ModuleCrossView {
  const problems: WalkProblem[] = [];
  const listed = listModules(kernel, MODULE_VIEW_LIMIT);
  if (listed.problem)
    problems.push({ ...listed.problem, message: `module list: ${listed.problem.message}` });
  const views: Partial<Record<ModuleViewName, bigint[]>> = {
    list: listed.modules.map((module) => module.address),
  };
  const tree = modTreeModules(kernel, problems);
  if (tree) views.modTree = tree;
  const kobjects = kobjectModules(kernel, problems);
  if (kobjects) views.kobjects = kobjects;

  const known = new Map<bigint, ModuleInfo>(listed.modules.map((m) => [m.address, m]));
  const sightings = new Map<bigint, ModuleSighting>();
  for (const name of MODULE_VIEW_NAMES) {
    for (const address of views[name] ?? []) {
      let sighting = sightings.get(address);
      if (!sighting) {
        sighting = { address, views: { list: false, modTree: false, kobjects: false } };
        const module = known.get(address);
        if (module) sighting.module = module;
        else {
          try {
            sighting.module = readModule(kernel, address);
          } catch (error) {
            if (!isRingsideError(error)) throw error;
            sighting.unreadable = error.message;
          }
        }
        sightings.set(address, sighting);
      }
      sighting.views[name] = true;
    }
  }
  const modules = [...sightings.values()];
  const orphanRegions = orphanModuleMemory(kernel, modules, problems);
  return {
    modules,
    hidden: modules.filter((sighting) => !sighting.views.list),
    ...(orphanRegions ? { orphanRegions } : {}),
    available: MODULE_VIEW_NAMES.filter((name) => views[name] !== undefined),
    problems,
  };
}

/**
 * vmalloc areas the module loader allocated (their caller is in one of MODULE_LOADER_CALLERS) that
 * hold none of the known modules' memory: a module hidden from every other view still has its code
 * there. Undefined when no area can be told apart as module memory.
 */
function orphanModuleMemory(
  kernel: LinuxKernel,
  modules: ModuleSighting[],
  problems: WalkProblem[],
): OrphanRegion[] | undefined {
  const vmap = listVmapAreas(kernel);
  if (!vmap) return undefined;
  problems.push(...vmap.problems);
  const loaderAreas = vmap.areas.flatMap((area) => {
    const nearest = area.caller === 0n ? undefined : kernel.symbols.nearest(area.caller);
    if (!nearest || !MODULE_LOADER_CALLERS.includes(nearest.symbol.name)) return [];
    return [{ ...area, caller: `${nearest.symbol.name}+0x${nearest.offset.toString(16)}` }];
  });
  if (loaderAreas.length === 0) return undefined;
  const owned: bigint[] = [];
  for (const sighting of modules) {
    if (!sighting.module) continue;
    const regions = guarded(problems, sighting.address, 'module memory', () =>
      moduleMemory(kernel, sighting.address),
    );
    for (const region of regions ?? []) owned.push(region.base);
  }
  const orphans = loaderAreas.filter(
    (area) => !owned.some((base) => base >= area.start && base < area.end),
  );
  if (orphans.length === 0) return [];
  const embedded = findEmbeddedModules(kernel, orphans, problems);
  const ownerOf = (area: { start: bigint; end: bigint }) =>
    embedded.find(({ regions }) => regions.some((base) => base >= area.start && base < area.end))
      ?.module;
  const unowned = orphans.filter((area) => !ownerOf(area));
  const pending = unowned.length > 0 ? pendingInitFree(kernel, problems) : undefined;
  return orphans.map((area) => {
    const owner = ownerOf(area);
    const region: OrphanRegion = {
      start: area.start,
      size: Number(area.end - area.start),
      caller: area.caller,
    };
    if (owner) region.owner = owner;
    else if (pending?.queued.some((base) => base >= area.start && base < area.end))
      region.pendingFree = 'queued';
    else if (pending?.inFlight) region.pendingFree = 'in-flight';
    return region;
  });
}
