// Unit tests of the function-hooks detector on a fake guest: an ftrace_ops or kprobe whose handler is
// in a module (a hidden one included) is reported, naming the hooked symbol and the module; the
// kernel's own hooks are not; live, once while the hook stands.
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { FakeLinux } from '../../introspect/os/linux/test-support/fake-linux.js';
import {
  writeFtraceOps,
  writeKprobes,
  writeModTree,
  writeModuleSymbols,
} from '../../introspect/os/linux/test-support/fake-rootkit.js';
import { collect, fakeGuest } from '../test-support/fake-guest.js';
import { createFunctionHooks, functionHooks } from './index.js';

const context = { domain: 'dump', cpus: [], timestamp: '2026-12-03T10:00:00.000Z' };

function world() {
  const linux = new FakeLinux();
  const text = linux.kernelText([
    'kprobe_ftrace_handler',
    '__x64_sys_kill',
    '__x64_sys_getdents64',
  ]);
  // A module hidden from the list but still in mod_tree holds the handlers.
  const rk = linux.module('ringside_rk', new Uint8Array(0x100), { link: false });
  writeModTree(linux, [rk]);
  return { linux, rk, text: (name: string) => text.get(name)!, base: linux.get64(rk + 0x100n) };
}

describe('function-hooks on a snapshot', () => {
  it('reports hooks whose handlers are in a module, naming the function and the module', async () => {
    const { linux, rk, text, base } = world();
    writeFtraceOps(linux, [
      { func: text('kprobe_ftrace_handler'), targets: [text('__x64_sys_kill')] },
      { func: base, targets: [text('__x64_sys_getdents64')] },
    ]);
    writeKprobes(linux, [{ addr: text('__x64_sys_kill'), pre: base + 0x40n }]);
    // The module's own symbols name the kprobe's handler (the ftrace one lies before any of them).
    writeModuleSymbols(linux, rk, [{ name: 'rk_pre_handler', offset: 0x40, size: 0x20 }]);
    const events = await functionHooks.judge!({ ...context, kernel: linux.kernel() });
    expect(events).toEqual([
      expect.objectContaining({
        type: 'integrity.violation',
        vmi: {
          symbol: '__x64_sys_getdents64',
          gva: text('__x64_sys_getdents64'),
          hook: 'ftrace',
          new_value: base,
        },
        module: { name: 'ringside_rk', base, size: 0x100 },
        details: expect.objectContaining({
          check: 'function_hook',
          message:
            'ftrace on __x64_sys_getdents64: its func [ringside_rk]+0x0 is in module ringside_rk',
          target_location: { where: 'module', module: 'ringside_rk', symbol: '[ringside_rk]+0x0' },
        }),
      }),
      expect.objectContaining({
        vmi: expect.objectContaining({ symbol: '__x64_sys_kill', hook: 'kprobe' }),
        details: expect.objectContaining({
          message:
            'kprobe on __x64_sys_kill: its pre_handler rk_pre_handler+0x0 ([ringside_rk]+0x40) is in module ringside_rk',
          handler_symbol: 'rk_pre_handler+0x0',
        }),
      }),
    ]);
  });

  it('says when an ftrace_ops hooks every function, and when a handler is in no module', async () => {
    const { linux } = world();
    writeFtraceOps(linux, [{ func: 0x7777_0000n }]);
    const [event] = await functionHooks.judge!({ ...context, kernel: linux.kernel() });
    expect(event?.vmi?.symbol).toBe('*');
    expect(event?.details?.message).toBe(
      'ftrace on every traceable function: its func 0x77770000 is in memory outside kernel and modules',
    );
  });

  it('is quiet on a guest with only the kernel’s own hooks', async () => {
    const { linux, text } = world();
    writeFtraceOps(linux, [
      { func: text('kprobe_ftrace_handler'), targets: [text('__x64_sys_kill')] },
    ]);
    expect(await functionHooks.judge!({ ...context, kernel: linux.kernel() })).toEqual([]);
  });
});

describe('function-hooks, live', () => {
  it('reports a hook once while it stands, and again when it comes back', async () => {
    const { linux, text, base } = world();
    const [ops] = writeFtraceOps(linux, [{ func: base, targets: [text('__x64_sys_getdents64')] }]);
    const head = linux.symbols.get('ftrace_ops_list')!;
    const end = linux.symbols.get('ftrace_list_end')!;
    const guest = fakeGuest(linux);
    const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
    const { events, errors } = collect(
      createFunctionHooks({ intervalMs: 10, scheduler }).start(guest),
    );
    const tick = async (): Promise<void> => {
      scheduler.maxFrames += 10;
      scheduler.flush();
      for (let turn = 0; turn < 10; turn++) await new Promise((resolve) => setImmediate(resolve));
    };
    await tick();
    await tick();
    expect(events).toHaveLength(1);
    linux.set64(head, end); // unregistered
    await tick();
    linux.set64(head, ops!); // registered again
    await tick();
    expect(errors).toEqual([]);
    expect(events.map((event) => event.vmi?.symbol)).toEqual([
      '__x64_sys_getdents64',
      '__x64_sys_getdents64',
    ]);
  });
});
