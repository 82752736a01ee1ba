// Unit tests of the hidden-module detector on a fake guest: a module off the list but in mod_tree is
// reported live after two checks in a row (once), and at once on a snapshot; a clean guest is quiet;
// memory the kernel is freeing (init sections, a module being unloaded) is never taken for a module.
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { FakeLinux } from '../../introspect/os/linux/test-support/fake-linux.js';
import {
  moduleInOwnMemory,
  writeBusyWorker,
  writeInitFreeList,
  writeModTree,
  writeModuleKset,
  writeVmapAreas,
} from '../../introspect/os/linux/test-support/fake-rootkit.js';
import { missingRequirements } from '../requirements.js';
import { collect, fakeGuest } from '../test-support/fake-guest.js';
import { createHiddenModule, hiddenModule, LEAVING_CONFIRMATIONS } from './index.js';

const MODULE_LIST = 0x8n;

function world() {
  const linux = new FakeLinux();
  const dummy = linux.module('dummy', new Uint8Array(64));
  const rk = linux.module('ringside_rk', new Uint8Array(64), { size: 16384 });
  writeModTree(linux, [dummy, rk]);
  writeModuleKset(linux, [dummy]);
  return { linux, rk };
}

function started(linux: FakeLinux) {
  const guest = fakeGuest(linux);
  const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
  const collected = collect(createHiddenModule({ intervalMs: 10, scheduler }).start(guest));
  const tick = async (): Promise<void> => {
    scheduler.maxFrames += 10;
    scheduler.flush();
    for (let turn = 0; turn < 10; turn++) await new Promise((resolve) => setImmediate(resolve));
  };
  return { guest, tick, ...collected };
}

describe('hidden-module, live', () => {
  it('reports a module that left the module list once it was hidden in two checks in a row, once', async () => {
    const { linux, rk } = world();
    const { guest, tick, events, errors } = started(linux);
    await tick();
    expect(guest.domain.pauses).toBe(0);
    linux.listDel(rk + MODULE_LIST);
    await tick();
    expect(events).toEqual([]);
    expect(guest.domain.pauses).toBe(1);
    await tick();
    await tick();
    expect(errors).toEqual([]);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'integrity.violation',
        domain: 'fake-guest',
        vmi: { symbol: 'modules', hook: 'module_list', gva: rk },
        module: { name: 'ringside_rk', base: linux.get64(rk + 0x100n), size: 16384 },
        details: expect.objectContaining({
          check: 'hidden_module',
          seen_by: ['modTree'],
          message: expect.stringMatching(
            /^module ringside_rk \(0x[0-9a-f]+, 16384 bytes\) is loaded but missing from the module list \(seen by modTree\)$/,
          ),
        }),
      }),
    ]);
  });

  it('reports module memory no view knows after two checks in a row', async () => {
    const { linux, rk } = world();
    const loader = linux.kernelText(['load_module']).get('load_module')! + 0x10n;
    const base = linux.get64(rk + 0x100n);
    writeVmapAreas(linux, [{ start: base, end: base + 0x4000n, caller: loader }]);
    linux.listDel(rk + MODULE_LIST);
    writeModTree(linux, []);
    const { tick, events } = started(linux);
    await tick();
    expect(events).toEqual([]);
    await tick();
    expect(events).toEqual([
      expect.objectContaining({
        module: { base, size: 0x4000 },
        details: expect.objectContaining({ check: 'hidden_module', seen_by: ['regions'] }),
      }),
    ]);
  });

  it('names a module hidden from every view by the struct module in its memory', async () => {
    const { linux } = world();
    const loader = linux.kernelText(['load_module']).get('load_module')! + 0x10n;
    const { module: rk, region } = moduleInOwnMemory(linux, 'ringside_ghost');
    writeVmapAreas(linux, [{ ...region, caller: loader }]);
    const { tick, events } = started(linux);
    await tick();
    await tick();
    await tick();
    expect(events).toEqual([
      expect.objectContaining({
        vmi: { symbol: 'modules', hook: 'module_list', gva: rk },
        module: { name: 'ringside_ghost', base: region.start, size: 0x2000 },
        details: expect.objectContaining({
          check: 'hidden_module',
          seen_by: ['memory'],
          state: 0,
          message: `module ringside_ghost (0x${region.start.toString(16)}, 8192 bytes) is loaded but missing from the module list, mod_tree and sysfs: its struct module is in module memory at 0x${region.start.toString(16)} (8192 bytes)`,
        }),
      }),
    ]);
  });

  // The false finding CI once saw: a module's init sections, off mod_tree, wait for do_free_init's
  // RCU grace period, which takes seconds on a loaded emulated guest.
  it('does not take init sections do_free_init is freeing, nor a module being unloaded, for a module', async () => {
    const { linux, rk } = world();
    const text = linux.kernelText(['load_module', 'do_free_init']);
    const loader = text.get('load_module')! + 0x10n;
    const init = { start: 0x30_0000n, end: 0x30_2000n };
    const { module: unloading, region: freed } = moduleInOwnMemory(linux, 'going_away');
    linux.set32(unloading, 3); // MODULE_STATE_UNFORMED, as free_module leaves it
    writeVmapAreas(linux, [
      { ...init, caller: loader },
      { ...freed, caller: loader },
    ]);
    writeBusyWorker(linux, 0, text.get('do_free_init')!);
    writeModTree(linux, [rk]);
    writeModuleKset(linux, [rk]);
    const { tick, events } = started(linux);
    for (let check = 1; check < LEAVING_CONFIRMATIONS; check++) await tick();
    expect(events).toEqual([]);
    // …unless it stays so for a minute, longer than any grace period: then it is reported.
    await tick();
    expect(events.map((event) => event.details?.seen_by)).toEqual([['memory'], ['regions']]);
    expect(events[1]!.details).toEqual(expect.objectContaining({ pending_free: 'in-flight' }));
  });

  it('does not report a module off the list for one check only (being loaded or freed)', async () => {
    const { linux, rk } = world();
    const { tick, events } = started(linux);
    linux.listDel(rk + MODULE_LIST);
    await tick();
    linux.listAddTail(linux.modules, rk + MODULE_LIST);
    await tick();
    await tick();
    expect(events).toEqual([]);
  });

  it('is refused without the module list, or on a domain that is not live', () => {
    const linux = new FakeLinux();
    linux.symbols.delete('modules');
    const guest = fakeGuest(linux, undefined, { capabilities: { live: false } });
    expect(missingRequirements(hiddenModule, guest.kernel, guest.domain)).toEqual([
      'kernel symbol modules is missing',
      'capability live must be true, but fake-guest has false',
    ]);
  });
});

describe('hidden-module on a snapshot', () => {
  it('reports every hidden module at once, and nothing on a clean guest', async () => {
    const { linux, rk } = world();
    const context = { domain: 'dump', cpus: [], timestamp: '2026-12-03T10:00:00.000Z' };
    expect(await hiddenModule.judge!({ ...context, kernel: linux.kernel() })).toEqual([]);
    linux.listDel(rk + MODULE_LIST);
    const events = await hiddenModule.judge!({ ...context, kernel: linux.kernel() });
    expect(events.map((event) => [event.module?.name, event.details?.check])).toEqual([
      ['ringside_rk', 'hidden_module'],
    ]);
    expect(events[0]).toEqual(
      expect.objectContaining({ domain: 'dump', timestamp: '2026-12-03T10:00:00.000Z' }),
    );
  });

  it('reports module memory no view’s module owns (a module hidden from all of them)', async () => {
    const { linux, rk } = world();
    const loader = linux.kernelText(['load_module']).get('load_module')! + 0x10n;
    const base = linux.get64(rk + 0x100n);
    writeVmapAreas(linux, [{ start: base, end: base + 0x4000n, caller: loader }]);
    // Off the list, out of mod_tree and sysfs: only its memory is left.
    linux.listDel(rk + MODULE_LIST);
    writeModTree(linux, []);
    const events = await hiddenModule.judge!({
      domain: 'dump',
      cpus: [],
      timestamp: '2026-12-03T10:00:00.000Z',
      kernel: linux.kernel(),
    });
    expect(events).toEqual([
      expect.objectContaining({
        module: { base, size: 0x4000 },
        details: expect.objectContaining({
          check: 'hidden_module',
          seen_by: ['regions'],
          message: `module memory at 0x${base.toString(16)} (16384 bytes, allocated by load_module+0x10) belongs to no module the module list, mod_tree or sysfs knows`,
        }),
      }),
    ]);
  });

  it('is silent on init sections queued for freeing and a module being unloaded, but names a hidden one', async () => {
    const { linux } = world();
    const loader = linux.kernelText(['load_module']).get('load_module')! + 0x10n;
    const { module: unloading, region: freed } = moduleInOwnMemory(linux, 'going_away');
    linux.set32(unloading, 3);
    const { region } = moduleInOwnMemory(linux, 'ringside_hidden');
    writeVmapAreas(linux, [
      { start: 0x30_0000n, end: 0x30_2000n, caller: loader },
      { ...freed, caller: loader },
      { ...region, caller: loader },
    ]);
    writeInitFreeList(linux, [0x30_0000n]);
    const events = await hiddenModule.judge!({
      domain: 'dump',
      cpus: [],
      timestamp: '2026-12-03T10:00:00.000Z',
      kernel: linux.kernel(),
    });
    expect(events.map((event) => [event.module?.name, event.details?.seen_by])).toEqual([
      ['ringside_hidden', ['memory']],
    ]);
  });
});
