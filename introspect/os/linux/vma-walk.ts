// A process's memory mappings (vm_area_struct), read from its mm: the maple tree (mm->mm_mt, Linux
// 6.1 and later) or the older mm->mmap list, both bounded, cycle-proof and typed from the kernel's own
// types. Guest memory is attacker-controlled: a bad node ends the walk with a problem, not a throw.
import { isRingsideError } from '../../errors.js';
import type { LinuxKernel } from './linux-kernel.js';
import type { WalkProblem } from './list-walk.js';

/** include/linux/mm.h: the protection bits of vm_flags (stable since the first Linux). */
export const VM_READ = 0x1n;
export const VM_WRITE = 0x2n;
export const VM_EXEC = 0x4n;
export const VM_SHARED = 0x8n;

/** vm.max_map_count's default is 65530: a process with more mappings than this is not walked on. */
export const MAX_MAPPINGS = 65_536;
/** Tree nodes visited per mm (a 65536-entry tree has a few thousand). */
const MAX_NODES = 16_384;
/** A maple tree of 2^64 indexes with 10-16 slots per node is far shallower than this. */
const MAX_DEPTH = 16;

/**
 * lib/maple_tree.c: an encoded node pointer carries the node type in bits 3..6 (and 0x4); the root
 * pointer also has bit 1 set (xa_is_node), which tells it from a single entry.
 */
const MAPLE_NODE_MASK = 0xffn;
const MAPLE_TYPE_SHIFT = 3n;
const MAPLE_TYPE_MASK = 0xfn;
const MAPLE_LEAF_64 = 1;
const MAPLE_RANGE_64 = 2;
const MAPLE_ARANGE_64 = 3;
const MAX_INDEX = (1n << 64n) - 1n;

export interface Mapping {
  /** Address of the vm_area_struct. */
  address: bigint;
  start: bigint;
  end: bigint;
  flags: bigint;
  /** The struct file mapped, 0 for anonymous memory. */
  file: bigint;
  /** vm_ops (special mappings such as the vDSO have their own). */
  ops: bigint;
}

export interface MappingList {
  mappings: Mapping[];
  /** Set when the walk stopped early; the mappings found before are kept. */
  problem?: WalkProblem;
}

/** "rwx", "r-x", "rw-" … with "s" or "p" as /proc/PID/maps prints them. */
export function protection(flags: bigint): string {
  return (
    ((flags & VM_READ) !== 0n ? 'r' : '-') +
    ((flags & VM_WRITE) !== 0n ? 'w' : '-') +
    ((flags & VM_EXEC) !== 0n ? 'x' : '-')
  );
}

const VMA_FIELDS = ['vm_start', 'vm_end', 'vm_mm', 'vm_flags', 'vm_file', 'vm_ops'];

/** Every mapping of the mm at `mm`, in address order. */
export function listMappings(kernel: LinuxKernel, mm: bigint): MappingList {
  const r = kernel.reader;
  const found = new Map<bigint, Mapping>();
  const problem = r.hasField('mm_struct', 'mm_mt')
    ? walkMapleTree(kernel, mm, (vma) => addMapping(kernel, mm, vma, found))
    : walkMmapList(kernel, mm, (vma) => addMapping(kernel, mm, vma, found));
  const mappings = [...found.values()].sort((a, b) => (a.start < b.start ? -1 : 1));
  return problem ? { mappings, problem } : { mappings };
}

/**
 * Reads one vm_area_struct into `found` unless it is not this mm's (a stale slot) or nonsense;
 * false once the bound is reached.
 */
function addMapping(
  kernel: LinuxKernel,
  mm: bigint,
  vma: bigint,
  found: Map<bigint, Mapping>,
): boolean {
  if (found.has(vma)) return true;
  let area;
  try {
    area = kernel.reader.struct(vma, 'vm_area_struct', VMA_FIELDS);
  } catch (error) {
    // A slot pointing nowhere readable is skipped; the rest of the tree may still be sound.
    if (!isRingsideError(error)) throw error;
    return true;
  }
  const start = area.value('vm_start');
  const end = area.value('vm_end');
  if (area.value('vm_mm') !== mm || end <= start) return true;
  found.set(vma, {
    address: vma,
    start,
    end,
    flags: area.value('vm_flags'),
    file: area.value('vm_file'),
    ops: area.value('vm_ops'),
  });
  return found.size < MAX_MAPPINGS;
}

interface MapleLayout {
  /** Offsets of pivot[] and slot[] in maple_range_64 (leaves, too) and maple_arange_64. */
  range: { pivots: number; slots: number; count: number };
  arange: { pivots: number; slots: number; count: number };
  size: number;
}

function mapleLayout(kernel: LinuxKernel): MapleLayout {
  const r = kernel.reader;
  const types = kernel.types;
  const count = (struct: string): number => {
    const type = types.get(types.resolve(r.field(struct, 'slot').type));
    return type.kind === 'array' ? type.count : 0;
  };
  const layout = (struct: string) => ({
    pivots: Number(r.offset(struct, 'pivot')),
    slots: Number(r.offset(struct, 'slot')),
    count: count(struct),
  });
  const node = types.findStruct('maple_node');
  return {
    range: layout('maple_range_64'),
    arange: layout('maple_arange_64'),
    size: node !== undefined ? types.sizeOf(node) : 256,
  };
}

/**
 * Visits every entry of mm->mm_mt. Only as many slots as a node holds data are read: a pivot of 0
 * (after the first) or the node's maximum ends a node, as in the kernel's mas_data_end; a node that
 * is not full keeps metadata, not a pointer, in its last slot.
 */
function walkMapleTree(
  kernel: LinuxKernel,
  mm: bigint,
  visit: (vma: bigint) => boolean,
): WalkProblem | undefined {
  const r = kernel.reader;
  const rootAddress = mm + r.offset('mm_struct', 'mm_mt') + r.offset('maple_tree', 'ma_root');
  let layout: MapleLayout;
  let root: bigint;
  try {
    layout = mapleLayout(kernel);
    root = r.u64(rootAddress);
  } catch (error) {
    if (!isRingsideError(error)) throw error;
    return { address: rootAddress, message: `unreadable maple tree root: ${error.message}` };
  }
  if (root === 0n) return undefined;
  if (!isNode(root)) return isInternal(root) || visit(root) ? undefined : bound(rootAddress);
  const seen = new Set<bigint>();
  const stack: { entry: bigint; depth: number; max: bigint }[] = [
    { entry: root, depth: 0, max: MAX_INDEX },
  ];
  while (stack.length > 0) {
    const { entry, depth, max } = stack.pop()!;
    const node = entry & ~MAPLE_NODE_MASK;
    const type = Number((entry >> MAPLE_TYPE_SHIFT) & MAPLE_TYPE_MASK);
    if (seen.has(node))
      return { address: node, message: 'maple tree node visited twice (a cycle)' };
    if (seen.size >= MAX_NODES) return bound(node);
    if (depth > MAX_DEPTH) return { address: node, message: `maple tree deeper than ${MAX_DEPTH}` };
    seen.add(node);
    const shape =
      type === MAPLE_ARANGE_64
        ? layout.arange
        : type === MAPLE_RANGE_64 || type === MAPLE_LEAF_64
          ? layout.range
          : undefined;
    if (!shape || shape.count < 2)
      return { address: node, message: `maple tree node of unknown type ${type}` };
    let bytes: Uint8Array;
    try {
      bytes = r.bytes(node, layout.size);
    } catch (error) {
      if (!isRingsideError(error)) throw error;
      return { address: node, message: `unreadable maple tree node: ${error.message}` };
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const at = (offset: number): bigint =>
      offset + 8 <= bytes.byteLength ? view.getBigUint64(offset, true) : 0n;
    const children: { entry: bigint; depth: number; max: bigint }[] = [];
    for (let slot = 0; slot < shape.count; slot++) {
      const last = slot === shape.count - 1;
      const pivot = last ? max : at(shape.pivots + slot * 8);
      if (!last && slot > 0 && pivot === 0n) break;
      const child = at(shape.slots + slot * 8);
      if (child !== 0n) {
        if (type === MAPLE_LEAF_64) {
          if (!isInternal(child) && !visit(child)) return bound(node);
          // Below the root, a slot of an internal node is an encoded node (type bits, no root bit).
        } else children.push({ entry: child, depth: depth + 1, max: pivot });
      }
      if (pivot >= max) break;
    }
    // Left to right: the rightmost child is pushed first.
    stack.push(...children.reverse());
  }
  return undefined;
}

/** Before Linux 6.1: the mm->mmap list through vm_next. */
function walkMmapList(
  kernel: LinuxKernel,
  mm: bigint,
  visit: (vma: bigint) => boolean,
): WalkProblem | undefined {
  const r = kernel.reader;
  const seen = new Set<bigint>();
  let vma: bigint;
  try {
    vma = r.u64(mm + r.offset('mm_struct', 'mmap'));
  } catch (error) {
    if (!isRingsideError(error)) throw error;
    return { address: mm, message: `unreadable mm->mmap: ${error.message}` };
  }
  while (vma !== 0n) {
    if (seen.has(vma)) return { address: vma, message: 'vm_next list loops' };
    seen.add(vma);
    if (!visit(vma)) return bound(vma);
    try {
      vma = r.u64(vma + r.offset('vm_area_struct', 'vm_next'));
    } catch (error) {
      if (!isRingsideError(error)) throw error;
      return { address: vma, message: `unreadable vm_next: ${error.message}` };
    }
  }
  return undefined;
}

/** include/linux/xarray.h: internal entries have 2 in their low bits; nodes are above 4096. */
const isInternal = (entry: bigint): boolean => (entry & 3n) === 2n;
const isNode = (entry: bigint): boolean => isInternal(entry) && entry > 4096n;
const bound = (address: bigint): WalkProblem => ({
  address,
  message: `more than ${MAX_MAPPINGS} mappings or ${MAX_NODES} tree nodes: the walk stops there`,
});
