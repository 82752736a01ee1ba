// Visits every node of a kernel red-black tree (struct rb_root → rb_node.rb_left/rb_right) safely:
// bounded, cycle-proof (a node reached twice is a problem, not a loop), partial on a wild pointer.
import { isRingsideError } from '../../errors.js';
import type { KernelReader } from './kernel-reader.js';
import { DEFAULT_WALK_LIMIT, type ListWalk } from './list-walk.js';

/** `root` is the address of the struct rb_root (its rb_node pointer). Nodes come in pre-order. */
export function walkRbTree(
  reader: KernelReader,
  root: bigint,
  limit = DEFAULT_WALK_LIMIT,
): ListWalk {
  const leftOffset = reader.offset('rb_node', 'rb_left');
  const rightOffset = reader.offset('rb_node', 'rb_right');
  const nodes: bigint[] = [];
  const seen = new Set<bigint>();
  let top: bigint;
  try {
    top = reader.u64(root);
  } catch (error) {
    if (!isRingsideError(error)) throw error;
    return { nodes, problem: { address: root, message: `unreadable rb_root: ${error.message}` } };
  }
  const pending = top === 0n ? [] : [top];
  while (pending.length > 0) {
    const node = pending.pop()!;
    if (seen.has(node)) {
      return {
        nodes,
        problem: {
          address: node,
          message: `the tree reaches 0x${node.toString(16)} twice (a cycle or shared subtree)`,
        },
      };
    }
    if (nodes.length >= limit) {
      return {
        nodes,
        problem: { address: node, message: `the tree has more than ${limit} nodes; stopped` },
      };
    }
    let left: bigint;
    let right: bigint;
    try {
      left = reader.u64(node + leftOffset);
      right = reader.u64(node + rightOffset);
    } catch (error) {
      if (!isRingsideError(error)) throw error;
      return {
        nodes,
        problem: { address: node, message: `unreadable rb_node: ${error.message}` },
      };
    }
    seen.add(node);
    nodes.push(node);
    if (right !== 0n) pending.push(right);
    if (left !== 0n) pending.push(left);
  }
  return { nodes };
}
