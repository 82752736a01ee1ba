// Unit tests of the search for struct modules inside module memory: a module's own struct module is
// found in its region by the base it names, a struct naming another region is not, and the search
// stops at its byte budget with a problem.
import { FakeLinux } from './test-support/fake-linux.js';
import { moduleInOwnMemory } from './test-support/fake-rootkit.js';
import { findEmbeddedModules, OWNER_SCAN_LIMITS } from './module-owners.js';
import type { WalkProblem } from './list-walk.js';

describe('findEmbeddedModules', () => {
  it('finds the struct module that lies in the region it names as its own, with its state', () => {
    const linux = new FakeLinux();
    const { module, region } = moduleInOwnMemory(linux, 'ghost');
    linux.set32(module, 1); // MODULE_STATE_COMING
    const problems: WalkProblem[] = [];
    expect(findEmbeddedModules(linux.kernel(), [region], problems)).toEqual([
      {
        module: expect.objectContaining({ address: module, name: 'ghost', state: 1 }),
        regions: [region.start],
      },
    ]);
    expect(problems).toEqual([]);
  });

  it('skips a region that holds no struct module, and one whose name is not a plain name', () => {
    const linux = new FakeLinux();
    const empty = { start: linux.alloc(0x2000), end: 0n };
    empty.end = empty.start + 0x2000n;
    const { module, region } = moduleInOwnMemory(linux, 'ghost');
    linux.bytes[Number(module) + 0x18] = 0x01; // a control character in the name
    expect(findEmbeddedModules(linux.kernel(), [empty, region], [])).toEqual([]);
  });

  it('stops at its byte budget with a problem', () => {
    const linux = new FakeLinux();
    const first = moduleInOwnMemory(linux, 'first');
    const second = moduleInOwnMemory(linux, 'second');
    const budget = OWNER_SCAN_LIMITS.totalBytes;
    OWNER_SCAN_LIMITS.totalBytes = 0x2000 + 0x800;
    try {
      const problems: WalkProblem[] = [];
      const found = findEmbeddedModules(linux.kernel(), [first.region, second.region], problems);
      expect(found.map((entry) => entry.module.name)).toEqual(['first']);
      expect(problems).toEqual([
        expect.objectContaining({ message: expect.stringContaining('stopped') }),
      ]);
    } finally {
      OWNER_SCAN_LIMITS.totalBytes = budget;
    }
  });
});
