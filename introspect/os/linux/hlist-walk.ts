// Walks a kernel hlist (struct hlist_head → hlist_node.next … NULL) safely: bounded, cycle-proof, and
// stopping with a recorded problem at the first unreadable pointer, like the list_head walk.
import { isRingsideError } from '../../errors.js';
import type { KernelReader } from './kernel-reader.js';
import { DEFAULT_WALK_LIMIT, type ListWalk } from './list-walk.js';

/** `head` is the address of the hlist_head (its `first` pointer); hlist_node.next is at offset 0. */
export function walkHlist(
  reader: KernelReader,
  head: bigint,
  limit = DEFAULT_WALK_LIMIT,
): ListWalk {
  const nodes: bigint[] = [];
  const seen = new Set<bigint>();
  let current = head;
  for (;;) {
    let next: bigint;
    try {
      next = reader.u64(current);
    } catch (error) {
      if (!isRingsideError(error)) throw error;
      return {
        nodes,
        problem: { address: current, message: `unreadable hlist pointer: ${error.message}` },
      };
    }
    if (next === 0n) return { nodes };
    if (seen.has(next)) {
      return {
        nodes,
        problem: {
          address: next,
          message: `the hlist loops back to 0x${next.toString(16)} instead of ending`,
        },
      };
    }
    if (nodes.length >= limit) {
      return {
        nodes,
        problem: { address: next, message: `the hlist has more than ${limit} entries; stopped` },
      };
    }
    seen.add(next);
    nodes.push(next);
    current = next;
  }
}
