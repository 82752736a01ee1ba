// Walks a kernel circular doubly-linked list (struct list_head) safely: bounded in length, cycle-proof,
// and stopping with a recorded problem at the first unreadable or wild pointer. Guest memory is
// attacker-controlled, so the walk never trusts it to terminate.
import { isRingsideError } from '../../errors.js';
import type { KernelReader } from './kernel-reader.js';

export interface WalkProblem {
  /** Address at which the walk stopped. */
  address: bigint;
  message: string;
}

export interface ListWalk {
  /** Addresses of the list_head members of the entries, in list order (the head excluded). */
  nodes: bigint[];
  /** Why the walk stopped early, when it did. */
  problem?: WalkProblem;
}

export const DEFAULT_WALK_LIMIT = 1 << 20;

export function walkList(reader: KernelReader, head: bigint, limit = DEFAULT_WALK_LIMIT): ListWalk {
  const nodes: bigint[] = [];
  const seen = new Set<bigint>([head]);
  let current = head;
  for (;;) {
    let next: bigint;
    try {
      next = reader.u64(current);
    } catch (error) {
      if (!isRingsideError(error)) throw error;
      return {
        nodes,
        problem: { address: current, message: `unreadable list pointer: ${error.message}` },
      };
    }
    if (next === head) return { nodes };
    if (seen.has(next)) {
      return {
        nodes,
        problem: {
          address: next,
          message: `the list loops back to 0x${next.toString(16)} without returning to its head`,
        },
      };
    }
    if (nodes.length >= limit) {
      return {
        nodes,
        problem: { address: next, message: `the list has more than ${limit} entries; stopped` },
      };
    }
    seen.add(next);
    nodes.push(next);
    current = next;
  }
}
