// Unit tests of the module cross-view on the fake kernel: a module unlinked from the list but kept
// in mod_tree or module_kset is hidden, with its name, base and size; forged or looping structures
// are problems, never hangs or false modules.
import { FakeLinux } from './test-support/fake-linux.js';
import {
  MODULE_MTN,
  writeModTree,
  writeModuleKset,
  writeVmapAreas,
} from './test-support/fake-rootkit.js';
import { moduleCrossView } from './module-views.js';

function world() {
  const linux = new FakeLinux();
  const dummy = linux.module('dummy', new Uint8Array(64).fill(0xc3));
  const loop = linux.module('loop', new Uint8Array(64).fill(0xc3));
  return { linux, dummy, loop };
}

describe('moduleCrossView', () => {
  it('finds every module in every view of a clean kernel, and none hidden', () => {
    const { linux, dummy, loop } = world();
    writeModTree(linux, [dummy, loop]);
    writeModuleKset(linux, [dummy, loop]);
    const view = moduleCrossView(linux.kernel());
    expect(view.available).toEqual(['list', 'modTree', 'kobjects']);
    expect(view.problems).toEqual([]);
    expect(view.hidden).toEqual([]);
    expect(view.modules.map((m) => [m.module?.name, m.views])).toEqual([
      ['dummy', { list: true, modTree: true, kobjects: true }],
      ['loop', { list: true, modTree: true, kobjects: true }],
    ]);
  });

  it('reports a module off the list that mod_tree still holds, with its name, base and size', () => {
    const { linux, dummy } = world();
    const rk = linux.module('ringside_rk', new Uint8Array(128).fill(0xcc), {
      size: 16384,
      link: false,
    });
    writeModTree(linux, [dummy, rk]);
    writeModuleKset(linux, [dummy]);
    const view = moduleCrossView(linux.kernel());
    expect(view.hidden).toEqual([
      {
        address: rk,
        module: expect.objectContaining({ name: 'ringside_rk', size: 16384 }),
        views: { list: false, modTree: true, kobjects: false },
      },
    ]);
    expect(view.hidden[0]!.module!.base).toBe(linux.get64(rk + 0x100n));
  });

  it('reports a module that only its kobject still names', () => {
    const { linux, dummy } = world();
    const rk = linux.module('sysfs_only', new Uint8Array(16), { link: false });
    writeModTree(linux, [dummy]);
    writeModuleKset(linux, [dummy, rk]);
    expect(moduleCrossView(linux.kernel()).hidden.map((m) => [m.module?.name, m.views])).toEqual([
      ['sysfs_only', { list: false, modTree: false, kobjects: true }],
    ]);
  });

  it('does not take a mod_tree node that names a module it is not part of', () => {
    const { linux, dummy } = world();
    writeModTree(linux, [dummy]);
    const forged = linux.module('forged', new Uint8Array(16), { link: false });
    linux.set64(dummy + MODULE_MTN, forged);
    const view = moduleCrossView(linux.kernel());
    expect(view.hidden).toEqual([]);
    expect(view.problems).toEqual([
      expect.objectContaining({ message: expect.stringContaining('it is not part of') }),
    ]);
  });

  it('stops at a mod_tree that loops, and a module list that loops, with a problem each', () => {
    const { linux, dummy, loop } = world();
    writeModTree(linux, [dummy, loop]);
    // The tree's second node points back at the root node.
    linux.set64(loop + MODULE_MTN + 8n + 16n, dummy + MODULE_MTN + 8n);
    linux.set64(loop + 0x8n, dummy + 0x8n);
    const view = moduleCrossView(linux.kernel());
    expect(view.problems.map((p) => p.message)).toEqual([
      expect.stringContaining('module list: the list loops back'),
      expect.stringContaining('mod_tree: the tree reaches'),
    ]);
  });

  it('uses the list alone on a kernel without mod_tree and module_kset', () => {
    const { linux } = world();
    const view = moduleCrossView(linux.kernel());
    expect(view.available).toEqual(['list']);
    expect(view.hidden).toEqual([]);
  });

  it('finds module memory that no view’s module owns, and only memory the module loader allocated', () => {
    const { linux, dummy, loop } = world();
    const text = linux.kernelText(['load_module', 'bpf_prog_pack_alloc'], 0x1000);
    const loader = text.get('load_module')! + 0xbb7n;
    const ghost = linux.module('ghost', new Uint8Array(0x2000), { link: false });
    const regionOf = (module: bigint) => {
      const base = linux.get64(module + 0x100n);
      return { start: base, end: base + 0x3000n };
    };
    writeModTree(linux, [dummy, loop]);
    writeVmapAreas(linux, [
      { ...regionOf(dummy), caller: loader },
      { ...regionOf(loop), caller: loader },
      { ...regionOf(ghost), caller: loader },
      { start: 0x30_0000n, end: 0x50_0000n, caller: text.get('bpf_prog_pack_alloc')! + 0x292n },
    ]);
    const view = moduleCrossView(linux.kernel());
    expect(view.hidden).toEqual([]);
    expect(view.orphanRegions).toEqual([
      { start: regionOf(ghost).start, size: 0x3000, caller: 'load_module+0xbb7' },
    ]);
  });

  it('says nothing of module memory when no vmalloc area is the module loader’s', () => {
    const { linux, dummy } = world();
    writeVmapAreas(linux, [{ start: 0x30_0000n, end: 0x31_0000n, caller: 0n }]);
    writeModTree(linux, [dummy]);
    expect(moduleCrossView(linux.kernel()).orphanRegions).toBeUndefined();
  });
});
