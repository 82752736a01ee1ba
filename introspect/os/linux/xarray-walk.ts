// Walks a kernel XArray (struct xarray, which is also the radix tree behind struct idr) safely: node
// shifts must fall by one chunk per level (so the depth is bounded and no cycle can descend forever),
// a node reached twice is reported, entries and nodes are counted against limits, and a wild pointer
// ends that branch with a problem while the rest of the tree is still read.
import { isRingsideError } from '../../errors.js';
import type { KernelReader } from './kernel-reader.js';
import type { WalkProblem } from './list-walk.js';

/** include/linux/xarray.h: internal entries are tagged 0b10; nodes are internal entries above 4096. */
const INTERNAL_TAG = 2n;
const NODE_THRESHOLD = 4096n;
/** An index is an unsigned long: a tree never needs a shift beyond 64 bits. */
const INDEX_BITS = 64;

export interface XarrayEntry {
  index: bigint;
  /** The stored pointer (never an internal entry); value entries (low bit set) included as they are. */
  entry: bigint;
}

export interface XarrayWalk {
  entries: XarrayEntry[];
  /** Every branch that could not be read; the rest of the tree was still walked. */
  problems: WalkProblem[];
}

export interface XarrayWalkLimits {
  /** At most this many entries (default 1 << 16). */
  entries?: number;
  /** At most this many nodes read (default 1 << 14). */
  nodes?: number;
}

const isInternal = (entry: bigint): boolean => (entry & 3n) === INTERNAL_TAG;
const isNode = (entry: bigint): boolean => isInternal(entry) && entry > NODE_THRESHOLD;

/** `xarray` is the address of the struct xarray (for an IDR: of its idr_rt member). */
export function walkXarray(
  reader: KernelReader,
  xarray: bigint,
  limits: XarrayWalkLimits = {},
): XarrayWalk {
  const maxEntries = limits.entries ?? 1 << 16;
  const maxNodes = limits.nodes ?? 1 << 14;
  const entries: XarrayEntry[] = [];
  const problems: WalkProblem[] = [];
  const problem = (address: bigint, message: string) => problems.push({ address, message });
  const shiftOffset = reader.offset('xa_node', 'shift');
  const slotsOffset = reader.offset('xa_node', 'slots');
  const slotsField = reader.field('xa_node', 'slots');
  const slotsType = reader.types.get(slotsField.type);
  const slotCount = slotsType.kind === 'array' ? slotsType.count : 64;
  const chunkShift = Math.log2(slotCount);
  // XA_CHUNK_SHIFT is 4 or 6: the types come from guest memory, and 2^31 slots would never end.
  if (!Number.isInteger(chunkShift) || chunkShift < 1 || chunkShift > 6) {
    problem(xarray, `xa_node.slots has ${slotCount} slots, not 2 to 64 (a power of two)`);
    return { entries, problems };
  }

  let head: bigint;
  try {
    head = reader.u64(xarray + reader.offset('xarray', 'xa_head'));
  } catch (error) {
    if (!isRingsideError(error)) throw error;
    problem(xarray, `unreadable xarray head: ${error.message}`);
    return { entries, problems };
  }
  if (head === 0n) return { entries, problems };
  if (!isNode(head)) {
    // A tree holding only index 0 keeps the entry in the head itself.
    if (!isInternal(head)) entries.push({ index: 0n, entry: head });
    return { entries, problems };
  }

  const seen = new Set<bigint>();
  let nodesRead = 0;
  // Each pending node carries the shift its parent expects, so depth is bounded by INDEX_BITS.
  const pending: { node: bigint; base: bigint; expectedShift: number | undefined }[] = [
    { node: head - INTERNAL_TAG, base: 0n, expectedShift: undefined },
  ];
  while (pending.length > 0) {
    const { node, base, expectedShift } = pending.pop()!;
    if (seen.has(node)) {
      problem(node, `xa_node 0x${node.toString(16)} is reached twice (a cycle or shared subtree)`);
      continue;
    }
    seen.add(node);
    if (nodesRead >= maxNodes) {
      problem(node, `the xarray has more than ${maxNodes} nodes; stopped`);
      break;
    }
    nodesRead++;
    let shift: number;
    let slots: Uint8Array;
    try {
      shift = reader.bytes(node + shiftOffset, 1)[0]!;
      slots = reader.bytes(node + slotsOffset, slotCount * 8);
    } catch (error) {
      if (!isRingsideError(error)) throw error;
      problem(node, `unreadable xa_node: ${error.message}`);
      continue;
    }
    if (
      shift % chunkShift !== 0 ||
      shift >= INDEX_BITS ||
      (expectedShift !== undefined && shift !== expectedShift)
    ) {
      problem(
        node,
        `xa_node 0x${node.toString(16)} has shift ${shift}` +
          (expectedShift !== undefined ? `, its parent expects ${expectedShift}` : ''),
      );
      continue;
    }
    const view = new DataView(slots.buffer, slots.byteOffset, slots.byteLength);
    // Children are pushed in reverse so that they are visited in index order.
    const children: typeof pending = [];
    for (let slot = 0; slot < slotCount; slot++) {
      const entry = view.getBigUint64(slot * 8, true);
      if (entry === 0n) continue;
      const index = base + (BigInt(slot) << BigInt(shift));
      if (isNode(entry)) {
        if (shift === 0) {
          problem(node, `xa_node 0x${node.toString(16)} has a node pointer in a leaf slot ${slot}`);
          continue;
        }
        children.push({
          node: entry - INTERNAL_TAG,
          base: index,
          expectedShift: shift - chunkShift,
        });
        continue;
      }
      // Sibling, retry and zero entries hold no pointer.
      if (isInternal(entry)) continue;
      if (entries.length >= maxEntries) {
        problem(node, `the xarray has more than ${maxEntries} entries; stopped`);
        return { entries, problems };
      }
      entries.push({ index, entry });
    }
    pending.push(...children.reverse());
  }
  return { entries, problems };
}
