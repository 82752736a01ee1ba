// The kernel's busy vmalloc areas (struct vmap_area with its vm_struct): start, size and the code
// that allocated each (vm_struct.caller). Up to 6.8 they are on `vmap_area_list`; from 6.9 on each
// of `nr_vmap_nodes` vmap_nodes (`vmap_nodes`) keeps its own busy list. Bounded; reads may fail.
import { isRingsideError } from '../../errors.js';
import type { LinuxKernel } from './linux-kernel.js';
import { walkList, type WalkProblem } from './list-walk.js';

export interface VmapArea {
  start: bigint;
  end: bigint;
  /** vm_struct.caller: the return address into the code that allocated it (0 when none). */
  caller: bigint;
}

export interface VmapAreas {
  areas: VmapArea[];
  problems: WalkProblem[];
}

/** Bounds: busy areas read in all, vmap nodes. */
export const VMAP_LIMITS = { areas: 1 << 18, nodes: 1024 };

/** The heads of the busy lists, or undefined when the kernel has neither layout. */
function busyLists(kernel: LinuxKernel, problems: WalkProblem[]): bigint[] | undefined {
  const r = kernel.reader;
  const global = kernel.symbols.address('vmap_area_list');
  if (global !== undefined) return [global];
  const nodes = kernel.symbols.address('vmap_nodes');
  const count = kernel.symbols.address('nr_vmap_nodes');
  const node = r.types.findStruct('vmap_node');
  if (nodes === undefined || count === undefined || node === undefined) return undefined;
  try {
    const array = r.u64(nodes);
    const total = Math.min(r.u32(count), VMAP_LIMITS.nodes);
    const size = BigInt(r.types.sizeOf(node));
    const busy = r.offset('vmap_node', 'busy.head');
    return Array.from({ length: total }, (_, index) => array + BigInt(index) * size + busy);
  } catch (error) {
    if (!isRingsideError(error)) throw error;
    problems.push({ address: nodes, message: `vmap_nodes unreadable: ${error.message}` });
    return [];
  }
}

/** Every busy vmalloc area, or undefined when the kernel's layout is not one this reader knows. */
export function listVmapAreas(kernel: LinuxKernel): VmapAreas | undefined {
  const r = kernel.reader;
  const problems: WalkProblem[] = [];
  const heads = busyLists(kernel, problems);
  if (heads === undefined || !r.hasField('vmap_area', 'list')) return undefined;
  const link = r.offset('vmap_area', 'list');
  const vm = r.offset('vmap_area', 'vm');
  const caller = r.offset('vm_struct', 'caller');
  const areas: VmapArea[] = [];
  for (const head of heads) {
    const walk = walkList(r, head, VMAP_LIMITS.areas - areas.length);
    if (walk.problem)
      problems.push({ ...walk.problem, message: `vmap areas: ${walk.problem.message}` });
    for (const node of walk.nodes) {
      const area = node - link;
      try {
        const copy = r.struct(area, 'vmap_area', ['va_start', 'va_end']);
        const structure = r.u64(area + vm);
        areas.push({
          start: copy.u64('va_start'),
          end: copy.u64('va_end'),
          caller: structure === 0n ? 0n : r.u64(structure + caller),
        });
      } catch (error) {
        if (!isRingsideError(error)) throw error;
        problems.push({ address: area, message: `vmap_area unreadable: ${error.message}` });
      }
    }
  }
  return { areas, problems };
}
