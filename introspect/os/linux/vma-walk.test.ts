import { describe, expect, it } from '@jest/globals';
import { FakeLinux } from './test-support/fake-linux.js';
import {
  encodeNode,
  MAPLE_LEAF_64,
  writeMappings,
  type FakeMapping,
} from './test-support/fake-maple.js';
import { listMappings, protection, VM_EXEC, VM_READ, VM_WRITE } from './vma-walk.js';

const R = VM_READ;
const RW = VM_READ | VM_WRITE;
const RX = VM_READ | VM_EXEC;
const RWX = VM_READ | VM_WRITE | VM_EXEC;

/** A static program's mappings: text, data, heap, an injected page, stack, vvar, vDSO. */
const PROGRAM: FakeMapping[] = [
  { start: 0x400000n, end: 0x401000n, flags: R, file: 0x1000n },
  { start: 0x401000n, end: 0x585000n, flags: RX, file: 0x1000n },
  { start: 0x5e2000n, end: 0x5e5000n, flags: RW, file: 0x1000n },
  { start: 0x1bf5b000n, end: 0x1bf7d000n, flags: RW },
  { start: 0x7f94d2bb7000n, end: 0x7f94d2bb8000n, flags: RWX },
  { start: 0x7ffd5f843000n, end: 0x7ffd5f864000n, flags: RW },
  { start: 0x7ffd5f977000n, end: 0x7ffd5f97b000n, flags: R },
  { start: 0x7ffd5f97b000n, end: 0x7ffd5f97d000n, flags: RX, ops: 0xffffffff81e3be40n },
];

function setUp(mappings = PROGRAM) {
  const linux = new FakeLinux();
  const mm = linux.alloc(0x40);
  const tree = writeMappings(linux, mm, mappings);
  return { linux, mm, ...tree, kernel: () => linux.kernel() };
}

describe('listMappings over the maple tree', () => {
  it('finds every mapping in address order across leaves, skipping the gaps', () => {
    const { mm, kernel, nodes } = setUp();
    expect(nodes.length).toBeGreaterThan(2); // the root and more than one leaf
    const { mappings, problem } = listMappings(kernel(), mm);
    expect(problem).toBeUndefined();
    expect(mappings.map((m) => [m.start, m.end, protection(m.flags), m.file !== 0n])).toEqual(
      PROGRAM.map((m) => [m.start, m.end, protection(m.flags), m.file !== undefined]),
    );
    expect(mappings.at(-1)?.ops).toBe(0xffffffff81e3be40n);
  });

  it('reads a tree whose root is a single entry', () => {
    const { linux, mm, vmas, kernel } = setUp(PROGRAM.slice(0, 1));
    linux.set64(mm + 0x38n, vmas[0]!);
    expect(listMappings(kernel(), mm).mappings.map((m) => m.start)).toEqual([0x400000n]);
  });

  it('drops a slot pointing at another mm’s mapping (a stale or forged entry)', () => {
    const { linux, mm, vmas, kernel } = setUp();
    linux.set64(vmas[4]! + 0x10n, 0xdead000n);
    const starts = listMappings(kernel(), mm).mappings.map((m) => m.start);
    expect(starts).toHaveLength(PROGRAM.length - 1);
    expect(starts).not.toContain(0x7f94d2bb7000n);
  });

  it('stops with a problem at a cycle instead of looping', () => {
    const { linux, mm, nodes, kernel } = setUp();
    // The first leaf's first slot becomes the root itself, as an internal child.
    const [root] = nodes;
    linux.set64(root! + 80n + 8n, encodeNode(root!, 3n));
    const { problem } = listMappings(kernel(), mm);
    expect(problem?.message).toMatch(/visited twice/);
  });

  it('stops with a problem at a node of an unknown type, keeping what it read', () => {
    const { linux, mm, nodes, kernel } = setUp();
    linux.set64(nodes[0]! + 80n + 8n, encodeNode(nodes[2]!, 9n));
    const { mappings, problem } = listMappings(kernel(), mm);
    expect(problem?.message).toMatch(/unknown type 9/);
    expect(mappings.length).toBeGreaterThan(0);
  });

  it('stops with a problem at an unreadable node', () => {
    const { linux, mm, kernel } = setUp();
    linux.set64(mm + 0x38n, encodeNode(0x7fff_0000_0000n, MAPLE_LEAF_64) | 2n);
    const { mappings, problem } = listMappings(kernel(), mm);
    expect(mappings).toEqual([]);
    expect(problem?.message).toMatch(/unreadable maple tree node/);
  });

  it('prints protections as /proc/PID/maps does', () => {
    expect([protection(RWX), protection(RX), protection(0n)]).toEqual(['rwx', 'r-x', '---']);
  });
});
