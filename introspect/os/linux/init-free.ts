// Module init sections the kernel is about to free: do_init_module queues them (struct mod_initfree)
// on `init_free_list` for do_free_init, which takes the whole list off, waits an RCU grace period
// and frees them — so they are also pending while a workqueue worker is running do_free_init.
import { isRingsideError } from '../../errors.js';
import type { LinuxKernel } from './linux-kernel.js';
import { walkHlist } from './hlist-walk.js';
import type { WalkProblem } from './list-walk.js';
import { perCpuAddresses } from './per-cpu.js';

export interface PendingInitFree {
  /** The init regions queued on init_free_list (mod_initfree's pointers). */
  queued: bigint[];
  /** A worker is running do_free_init: the regions it took off the list are not freed yet. */
  inFlight: boolean;
}

/** Bounds: queued mod_initfree entries; busy workers read in all. */
export const INIT_FREE_LIMITS = { queued: 4096, workers: 4096 };
/** NR_STD_WORKER_POOLS: cpu_worker_pools holds a normal and a high-priority pool per CPU. */
const CPU_POOLS = 2;
/** mod_initfree's region pointers: one layout up to 6.3, one per init memory type from 6.4. */
const INIT_FREE_FIELDS = ['module_init', 'init_text', 'init_data', 'init_rodata'];

function queuedRegions(kernel: LinuxKernel, problems: WalkProblem[]): bigint[] {
  const r = kernel.reader;
  const head = kernel.symbols.address('init_free_list');
  if (head === undefined || !r.hasField('mod_initfree', 'node')) return [];
  // llist_head.first and llist_node.next are the first word, like an hlist's.
  const walk = walkHlist(r, head, INIT_FREE_LIMITS.queued);
  if (walk.problem)
    problems.push({ ...walk.problem, message: `init_free_list: ${walk.problem.message}` });
  const node = r.offset('mod_initfree', 'node');
  const fields = INIT_FREE_FIELDS.filter((field) => r.hasField('mod_initfree', field)).map(
    (field) => r.offset('mod_initfree', field),
  );
  const regions: bigint[] = [];
  for (const entry of walk.nodes) {
    for (const field of fields) {
      try {
        const region = r.u64(entry - node + field);
        if (region !== 0n) regions.push(region);
      } catch (error) {
        if (!isRingsideError(error)) throw error;
        problems.push({ address: entry, message: `mod_initfree unreadable: ${error.message}` });
      }
    }
  }
  return regions;
}

/** Whether a busy worker of a per-CPU pool (system_wq's, where init_free_wq runs) is in do_free_init. */
function freeInFlight(kernel: LinuxKernel, problems: WalkProblem[]): boolean {
  const r = kernel.reader;
  const func = kernel.symbols.address('do_free_init');
  const pool = r.types.findStruct('worker_pool');
  if (
    func === undefined ||
    pool === undefined ||
    !r.hasField('worker_pool', 'busy_hash') ||
    !r.hasField('worker', 'current_func')
  )
    return false;
  const { addresses, problem } = perCpuAddresses(kernel, 'cpu_worker_pools');
  if (problem) problems.push({ ...problem, message: `worker pools: ${problem.message}` });
  const poolSize = BigInt(r.types.sizeOf(pool));
  const hash = r.field('worker_pool', 'busy_hash');
  const array = r.types.get(r.types.resolve(hash.type));
  const buckets = array.kind === 'array' ? Math.min(array.count, 1024) : 0;
  const hentry = r.offset('worker', 'hentry');
  const current = r.offset('worker', 'current_func');
  let budget = INIT_FREE_LIMITS.workers;
  for (const cpu of addresses) {
    for (let index = 0n; index < BigInt(CPU_POOLS); index++) {
      const heads = cpu + index * poolSize + BigInt(hash.offset);
      for (let bucket = 0; bucket < buckets && budget > 0; bucket++) {
        const walk = walkHlist(r, heads + BigInt(bucket * 8), budget);
        if (walk.problem)
          problems.push({ ...walk.problem, message: `busy workers: ${walk.problem.message}` });
        budget -= walk.nodes.length;
        for (const node of walk.nodes) {
          try {
            if (r.u64(node - hentry + current) === func) return true;
          } catch (error) {
            if (!isRingsideError(error)) throw error;
            problems.push({ address: node, message: `worker unreadable: ${error.message}` });
          }
        }
      }
    }
  }
  return false;
}

/** The module init regions pending free (none known on a kernel without these symbols). */
export function pendingInitFree(kernel: LinuxKernel, problems: WalkProblem[]): PendingInitFree {
  return { queued: queuedRegions(kernel, problems), inFlight: freeInFlight(kernel, problems) };
}
