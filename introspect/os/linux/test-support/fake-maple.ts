// Writes an mm's mappings into a FakeLinux as the kernel keeps them: vm_area_structs in a maple tree
// (mm->mm_mt) of leaf_64 nodes under one arange_64 root, with NULL entries for the gaps between
// mappings, as lib/maple_tree.c stores them. Tests then corrupt the tree on purpose.
import type { FakeLinux } from './fake-linux.js';

export const MAPLE_LEAF_64 = 1n;
export const MAPLE_ARANGE_64 = 3n;
const RANGE_PIVOTS = 8n;
const RANGE_SLOTS = 128n;
const ARANGE_PIVOTS = 8n;
const ARANGE_SLOTS = 80n;
/** Entries (mappings and gaps) per leaf written here: fewer than the 16 slots, so pivots end them. */
const PER_LEAF = 6;

export interface FakeMapping {
  start: bigint;
  end: bigint;
  flags: bigint;
  file?: bigint;
  ops?: bigint;
}

/** A 256-byte-aligned maple node (the low byte of an encoded node pointer holds its type). */
export function mapleNode(linux: FakeLinux): bigint {
  const raw = linux.alloc(512);
  return (raw + 255n) & ~255n;
}

export const encodeNode = (node: bigint, type: bigint): bigint => node | (type << 3n) | 4n;

export function vma(linux: FakeLinux, mm: bigint, mapping: FakeMapping): bigint {
  const address = linux.alloc(0x60);
  linux.set64(address, mapping.start);
  linux.set64(address + 8n, mapping.end);
  linux.set64(address + 0x10n, mm);
  linux.set64(address + 0x18n, mapping.flags);
  linux.set64(address + 0x20n, mapping.file ?? 0n);
  linux.set64(address + 0x28n, mapping.ops ?? 0n);
  return address;
}

/**
 * Gives `mm` these mappings (sorted, not overlapping): returns the vm_area_structs and the nodes
 * (root first, then the leaves).
 */
export function writeMappings(
  linux: FakeLinux,
  mm: bigint,
  mappings: FakeMapping[],
): { vmas: bigint[]; nodes: bigint[] } {
  const vmas = mappings.map((mapping) => vma(linux, mm, mapping));
  // The index space as the tree keeps it: [last, pivot] ranges, each a mapping or a gap (0).
  const entries: { pivot: bigint; entry: bigint }[] = [];
  let next = 0n;
  mappings.forEach((mapping, index) => {
    if (mapping.start > next) entries.push({ pivot: mapping.start - 1n, entry: 0n });
    entries.push({ pivot: mapping.end - 1n, entry: vmas[index]! });
    next = mapping.end;
  });
  entries.push({ pivot: (1n << 64n) - 1n, entry: 0n });
  const leaves: { node: bigint; max: bigint }[] = [];
  for (let first = 0; first < entries.length; first += PER_LEAF) {
    const node = mapleNode(linux);
    const chunk = entries.slice(first, first + PER_LEAF);
    chunk.forEach(({ pivot, entry }, slot) => {
      linux.set64(node + RANGE_PIVOTS + BigInt(slot) * 8n, pivot);
      linux.set64(node + RANGE_SLOTS + BigInt(slot) * 8n, entry);
    });
    leaves.push({ node, max: chunk.at(-1)!.pivot });
  }
  const root = mapleNode(linux);
  // Every used slot has its pivot (the last one the node's maximum), as the kernel writes them.
  leaves.forEach(({ node, max }, slot) => {
    linux.set64(root + ARANGE_PIVOTS + BigInt(slot) * 8n, max);
    linux.set64(root + ARANGE_SLOTS + BigInt(slot) * 8n, encodeNode(node, MAPLE_LEAF_64));
  });
  // The root pointer: an encoded node with the root bit (0x2).
  linux.set64(mm + 0x30n + 8n, encodeNode(root, MAPLE_ARANGE_64) | 2n);
  return { vmas, nodes: [root, ...leaves.map((leaf) => leaf.node)] };
}
