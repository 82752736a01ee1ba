import fc from 'fast-check';
import { identitySpace } from '../../memory/test-support/identity-space.js';
import { KernelReader } from './kernel-reader.js';
import { walkList } from './list-walk.js';
import type { TypeTable } from './profile/types.js';

const noTypes = {} as TypeTable;

function memoryWith(pointers: [number, bigint][], size = 0x1000): Uint8Array {
  const bytes = new Uint8Array(size);
  const view = new DataView(bytes.buffer);
  for (const [at, value] of pointers) view.setBigUint64(at, value, true);
  return bytes;
}

describe('walkList', () => {
  it('walks a well-formed circular list', () => {
    const reader = new KernelReader(
      identitySpace(
        memoryWith([
          [0x0, 0x100n],
          [0x100, 0x200n],
          [0x200, 0x0n],
        ]),
      ),
      noTypes,
    );
    expect(walkList(reader, 0x0n)).toEqual({ nodes: [0x100n, 0x200n] });
  });

  it('stops at a cycle that does not return to the head', () => {
    const reader = new KernelReader(
      identitySpace(
        memoryWith([
          [0x0, 0x100n],
          [0x100, 0x200n],
          [0x200, 0x100n],
        ]),
      ),
      noTypes,
    );
    const walk = walkList(reader, 0x0n);
    expect(walk.nodes).toEqual([0x100n, 0x200n]);
    expect(walk.problem?.message).toMatch(/loops back to 0x100/);
  });

  it('stops at a wild pointer with the address named', () => {
    const reader = new KernelReader(
      identitySpace(
        memoryWith([
          [0x0, 0x100n],
          [0x100, 0xdead_0000_0000n],
        ]),
      ),
      noTypes,
    );
    const walk = walkList(reader, 0x0n);
    expect(walk.nodes).toEqual([0x100n, 0xdead_0000_0000n]);
    expect(walk.problem).toMatchObject({ address: 0xdead_0000_0000n });
    expect(walk.problem?.message).toMatch(/unreadable list pointer/);
  });

  it('stops at its limit on a list too long to be real', () => {
    const pointers: [number, bigint][] = [];
    for (let at = 0; at < 0x1000 - 8; at += 8) pointers.push([at, BigInt(at + 8)]);
    const reader = new KernelReader(identitySpace(memoryWith(pointers)), noTypes);
    const walk = walkList(reader, 0x0n, 100);
    expect(walk.nodes).toHaveLength(100);
    expect(walk.problem?.message).toMatch(/more than 100 entries/);
  });

  it('always terminates on arbitrary memory, within its limit', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(63), { minLength: 64, maxLength: 64 }),
        fc.nat(63),
        (links, head) => {
          const bytes = new Uint8Array(64 * 8);
          const view = new DataView(bytes.buffer);
          links.forEach((target, index) => view.setBigUint64(index * 8, BigInt(target * 8), true));
          const walk = walkList(
            new KernelReader(identitySpace(bytes), noTypes),
            BigInt(head * 8),
            1000,
          );
          expect(walk.nodes.length).toBeLessThanOrEqual(64);
          expect(new Set(walk.nodes).size).toBe(walk.nodes.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
