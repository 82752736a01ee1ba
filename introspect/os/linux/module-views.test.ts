// Unit tests of the module cross-view on the fake kernel: a module unlinked from the list but kept
// in mod_tree or module_kset is hidden, with its name, base and size; forged or looping structures
// are problems, never hangs or false modules.
import { FakeLinux } from './test-support/fake-linux.js';
import {
  MODULE_MTN,
  moduleInOwnMemory,
  writeBusyWorker,
  writeInitFreeList,
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

  describe('module memory no view knows', () => {
    function orphans() {
      const { linux, dummy } = world();
      const text = linux.kernelText(['load_module', 'do_free_init', 'process_one_work'], 0x1000);
      const loader = text.get('load_module')! + 0xbb7n;
      writeModTree(linux, [dummy]);
      return { linux, dummy, text, loader };
    }

    it('names the module whose struct module lies inside it (hidden from every view)', () => {
      const { linux, loader } = orphans();
      const { module: ghost, region } = moduleInOwnMemory(linux, 'ghost');
      writeVmapAreas(linux, [{ ...region, caller: loader }]);
      const view = moduleCrossView(linux.kernel());
      expect(view.orphanRegions).toEqual([
        {
          start: region.start,
          size: 0x2000,
          caller: 'load_module+0xbb7',
          owner: expect.objectContaining({ address: ghost, name: 'ghost', state: 0 }),
        },
      ]);
    });

    it('does not take a struct module that does not name the region it lies in', () => {
      const { linux, loader } = orphans();
      const { module: ghost, region } = moduleInOwnMemory(linux, 'ghost');
      // Its base field names another region: a copy, or a forged struct, is not the owner.
      linux.set64(ghost + 0x100n, region.end);
      writeVmapAreas(linux, [{ ...region, caller: loader }]);
      const [orphan] = moduleCrossView(linux.kernel()).orphanRegions ?? [];
      expect(orphan).toEqual({ start: region.start, size: 0x2000, caller: 'load_module+0xbb7' });
    });

    it('tells init sections queued on init_free_list, or taken by a running do_free_init, from the rest', () => {
      const { linux, text, loader } = orphans();
      const queued = { start: 0x30_0000n, end: 0x30_3000n };
      const taken = { start: 0x31_0000n, end: 0x31_2000n };
      writeVmapAreas(linux, [
        { ...queued, caller: loader },
        { ...taken, caller: loader },
      ]);
      writeInitFreeList(linux, [queued.start]);
      const worker = writeBusyWorker(linux, 1, text.get('process_one_work')!);
      const pending = () =>
        (moduleCrossView(linux.kernel()).orphanRegions ?? []).map((region) => [
          region.start,
          region.pendingFree,
        ]);
      // A worker busy with other work: only the queued region is the kernel's to free.
      expect(pending()).toEqual([
        [queued.start, 'queued'],
        [taken.start, undefined],
      ]);
      linux.set64(worker + 0x18n, text.get('do_free_init')!);
      expect(pending()).toEqual([
        [queued.start, 'queued'],
        [taken.start, 'in-flight'],
      ]);
    });

    it('stops at an init_free_list or a busy-worker hash that loops, with a problem each', () => {
      const { linux, text, loader } = orphans();
      writeVmapAreas(linux, [{ start: 0x30_0000n, end: 0x30_3000n, caller: loader }]);
      writeInitFreeList(linux, [0x40_0000n, 0x41_0000n]);
      const head = linux.symbols.get('init_free_list')!;
      const first = linux.get64(head);
      linux.set64(linux.get64(first), first);
      const worker = writeBusyWorker(linux, 0, text.get('process_one_work')!);
      linux.set64(worker, worker);
      const view = moduleCrossView(linux.kernel());
      expect(view.orphanRegions?.[0]?.pendingFree).toBeUndefined();
      expect(view.problems.map((problem) => problem.message)).toEqual([
        expect.stringContaining('init_free_list: the hlist loops back'),
        expect.stringContaining('busy workers: the hlist loops back'),
      ]);
    });
  });
});
