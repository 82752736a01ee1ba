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

export interface ListEntries<T> {
  entries: T[];
  /** Set when the walk stopped early; the entries before it are kept. */
  problem?: WalkProblem;
}

/**
 * Reads the objects on a kernel list: `member` is the offset of their list_head. An object that
 * cannot be read ends the walk with a problem naming it and the list pointer that led to it.
 */
export function readListEntries<T>(
  reader: KernelReader,
  head: bigint,
  member: bigint,
  what: string,
  read: (address: bigint) => T,
  limit?: number,
): ListEntries<T> {
  const walk = walkList(reader, head, limit);
  const entries: T[] = [];
  for (const node of walk.nodes) {
    const address = node - member;
    try {
      entries.push(read(address));
    } catch (error) {
      if (!isRingsideError(error)) throw error;
      const message = `${what} at 0x${address.toString(16)} (list pointer 0x${node.toString(16)}) unreadable: ${error.message}`;
      return { entries, problem: { address, message } };
    }
  }
  return walk.problem ? { entries, problem: walk.problem } : { entries };
}
