import fc from 'fast-check';
import { FakeLinux } from './test-support/fake-linux.js';
import { walkXarray } from './xarray-walk.js';

const SLOTS = 40n;

function treeOf(numbers: number[]) {
  const linux = new FakeLinux(1, 8 << 20);
  for (const number of numbers) linux.ids.set(number, BigInt(0x10_0000 + number * 0x40));
  const kernel = linux.kernel();
  const xarray = linux.xaHead - 8n;
  return { linux, kernel, xarray, root: linux.get64(linux.xaHead) - 2n };
}

describe('walkXarray', () => {
  it('reads a head-only tree, a one-level tree and a three-level tree in index order', () => {
    for (const numbers of [[0], [1, 2, 63], [1, 64, 4095, 4096, 70000]]) {
      const { kernel, xarray } = treeOf(numbers);
      const walk = walkXarray(kernel.reader, xarray);
      expect(walk.problems).toEqual([]);
      expect(walk.entries.map((entry) => Number(entry.index))).toEqual(numbers);
      expect(walk.entries.map((entry) => entry.entry)).toEqual(
        numbers.map((number) => BigInt(0x10_0000 + number * 0x40)),
      );
    }
  });

  it('skips retry, zero and sibling entries', () => {
    const { linux, kernel, xarray, root } = treeOf([1, 2, 3, 4]);
    linux.set64(root + SLOTS + 8n * 2n, 0x402n); // XA_RETRY_ENTRY
    linux.set64(root + SLOTS + 8n * 3n, 0x406n); // XA_ZERO_ENTRY
    linux.set64(root + SLOTS + 8n * 4n, (1n << 2n) | 2n); // sibling of slot 1
    expect(walkXarray(kernel.reader, xarray).entries.map((entry) => entry.index)).toEqual([1n]);
  });

  it('stops a cycle back to the root, and a node whose shift does not fall', () => {
    const { linux, kernel, xarray, root } = treeOf([1, 70000]);
    const child = linux.get64(root + SLOTS + 8n * 17n) - 2n; // slot 17 holds 69632..73727 (shift 12)
    linux.set64(child + SLOTS + 8n * 9n, root + 2n); // an empty slot now points back up
    const walk = walkXarray(kernel.reader, xarray);
    expect(walk.entries.map((entry) => entry.index)).toEqual([1n, 70000n]);
    expect(walk.problems.map((problem) => problem.message)).toEqual([
      expect.stringMatching(/is reached twice/),
    ]);
    linux.bytes[Number(child)] = 12; // the parent expects 6
    expect(walkXarray(kernel.reader, xarray).problems[0]!.message).toMatch(
      /has shift 12, its parent expects 6/,
    );
  });

  it('a wild node pointer ends that branch only', () => {
    const { linux, kernel, xarray, root } = treeOf([1, 70000, 140000]);
    linux.set64(root + SLOTS + 8n * 17n, 0xdead_0000_0002n); // the subtree holding 70000
    const walk = walkXarray(kernel.reader, xarray);
    expect(walk.entries.map((entry) => entry.index)).toEqual([1n, 140000n]);
    expect(walk.problems).toEqual([
      expect.objectContaining({
        address: 0xdead_0000_0000n,
        message: expect.stringMatching(/unreadable xa_node/),
      }),
    ]);
  });

  it('a node pointer in a leaf slot is a problem, not a descent', () => {
    const { linux, kernel, xarray, root } = treeOf([1, 2]);
    linux.set64(root + SLOTS + 8n * 9n, root + 2n);
    expect(walkXarray(kernel.reader, xarray).problems[0]!.message).toMatch(
      /node pointer in a leaf slot 9/,
    );
  });

  it('stops at its entry and node limits', () => {
    const { kernel, xarray } = treeOf(Array.from({ length: 200 }, (_, index) => index * 64));
    expect(walkXarray(kernel.reader, xarray, { entries: 50 }).entries).toHaveLength(50);
    const few = walkXarray(kernel.reader, xarray, { nodes: 10 });
    expect(few.problems.at(-1)!.message).toMatch(/more than 10 nodes/);
  });

  it('always terminates on arbitrary slot contents, within its limits', () => {
    const { linux, kernel, xarray } = treeOf([1, 70000, 300000]);
    const nodes = [0x20_0000n, 0x20_1000n, 0x20_2000n, 0x20_3000n];
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(3), fc.nat(63), fc.nat(7), fc.constantFrom(0, 6, 12, 18, 5)), {
          maxLength: 40,
        }),
        fc.nat(3),
        (writes, head) => {
          nodes.forEach((node, index) => (linux.bytes[Number(node)] = [12, 6, 0, 6][index]!));
          for (const [node, slot, target, shift] of writes) {
            linux.set64(
              nodes[node]! + SLOTS + BigInt(slot * 8),
              target < 4 ? nodes[target]! + 2n : BigInt(target * 0x100),
            );
            linux.bytes[Number(nodes[node]!)] = shift;
          }
          linux.set64(linux.xaHead, nodes[head]! + 2n);
          const walk = walkXarray(kernel.reader, xarray, { entries: 1000 });
          expect(walk.entries.length).toBeLessThanOrEqual(4 * 64);
        },
      ),
      { numRuns: 200 },
    );
  });
});
