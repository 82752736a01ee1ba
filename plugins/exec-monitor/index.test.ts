import { AARCH64, X86_64 } from '../../introspect/arch/index.js';
import { FakeLinux } from '../../introspect/os/linux/test-support/fake-linux.js';
import { TASK_CAPTURES } from '../guest-context.js';
import { collect, fakeGuest, hookHit } from '../test-support/fake-guest.js';
import { missingRequirements } from '../requirements.js';
import { execMonitor, readArguments, splitStrings } from './index.js';

const USER_STACK = 0x7ffd_1234_5000n;

/** bash (pid 90) runs `ls -la` as uid 1000 in child 120. */
function world() {
  const linux = new FakeLinux();
  const text = linux.kernelText(['setup_new_exec']);
  const [bash] = linux.process(90, 'bash');
  const [child] = linux.process(120, 'ls');
  linux.setParent(child!.task, bash!.task);
  linux.setCredentials(child!.task, { uid: 1000, gid: 100, euid: 1000, egid: 100 });
  return { linux, hook: text.get('setup_new_exec')!, task: child!.task };
}

describe('exec-monitor', () => {
  it('reads a whole exec from captures on x86-64, without holding the vCPU', async () => {
    const { linux, hook, task } = world();
    const bprm = linux.binprm('/usr/bin/ls', 2, linux.put(Buffer.from('ls\0-la\0')));
    const guest = fakeGuest(linux, X86_64);
    const { events, errors } = collect(
      execMonitor.start({ domain: guest.domain, kernel: guest.kernel }),
    );
    const spec = guest.domain.hookAt(`exec:${hook.toString(16)}`);
    expect(spec).toMatchObject({ kind: 'exec', name: 'setup_new_exec', hold: false });
    expect(spec.kind === 'exec' && spec.capture).toHaveLength(TASK_CAPTURES + 3);

    const hit = await guest.domain.fire(
      `exec:${hook.toString(16)}`,
      hookHit(guest, { task, args: [bprm], at: hook, time: 7 }),
      'read',
    );
    expect(hit).toEqual({ held: false, suppressed: false });
    expect(errors).toEqual([]);
    expect(events).toEqual([
      {
        type: 'process.exec',
        domain: 'fake-guest',
        vcpu: 0,
        time: 7,
        timestamp: '2026-12-03T10:00:00.000Z',
        process: {
          pid: 120,
          tgid: 120,
          ppid: 90,
          name: 'ls',
          kernel_thread: false,
          task,
          parent: { pid: 90, name: 'bash' },
          executable: '/usr/bin/ls',
          args: ['ls', '-la'],
          command_line: 'ls -la',
        },
        user: { id: 1000, group_id: 100, effective_id: 1000 },
        vmi: { rip: hook, hook: 'setup_new_exec' },
      },
    ]);
  });

  it('says the arguments were cut when the captured bytes hold fewer strings than argc', async () => {
    const { linux, hook, task } = world();
    const long = 'A'.repeat(1100);
    const bprm = linux.binprm('/bin/echo', 2, linux.put(Buffer.from(`${long}\0x\0`)));
    const guest = fakeGuest(linux, X86_64);
    const { events } = collect(execMonitor.start({ domain: guest.domain, kernel: guest.kernel }));
    await guest.domain.fire(
      `exec:${hook.toString(16)}`,
      hookHit(guest, { task, args: [bprm] }),
      'read',
    );
    expect(events).toHaveLength(1);
    expect(events[0]!.process?.args).toEqual([]);
    expect(events[0]!.details).toEqual({ args_truncated: true, argc: 2 });
  });

  it('reads the exec from memory while held when the backend does not capture, through the new address space', async () => {
    const { linux, hook, task } = world();
    const page = new Uint8Array(0x1000);
    page.set(Buffer.from('ls\0-la\0/tmp\0'), 0x800);
    linux.addressSpace(task, [{ virtual: USER_STACK, bytes: page }]);
    const bprm = linux.binprm('/usr/bin/ls', 3, USER_STACK + 0x800n);
    const guest = fakeGuest(linux, X86_64, { capabilities: { captures: false } });
    const { events } = collect(execMonitor.start({ domain: guest.domain, kernel: guest.kernel }));
    const spec = guest.domain.hookAt(`exec:${hook.toString(16)}`);
    expect(spec.kind === 'exec' && (spec.capture ?? spec.hold)).toBeUndefined();
    await guest.domain.fire(
      `exec:${hook.toString(16)}`,
      hookHit(guest, { task, args: [bprm], at: hook }),
    );
    expect(events).toHaveLength(1);
    expect(events[0]!.process).toMatchObject({
      pid: 120,
      ppid: 90,
      name: 'ls',
      executable: '/usr/bin/ls',
      args: ['ls', '-la', '/tmp'],
      parent: { pid: 90, name: 'bash' },
    });
    expect(events[0]!.user).toEqual({ id: 1000, group_id: 100, effective_id: 1000 });
  });

  it('on AArch64 takes bprm from x0 and the task from SP_EL0, read while held (no capture can reach SP_EL0)', async () => {
    const { linux, hook, task } = world();
    const page = new Uint8Array(0x1000);
    page.set(Buffer.from('id\0'), 0);
    linux.addressSpace(task, [{ virtual: USER_STACK, bytes: page }]);
    const bprm = linux.binprm('/usr/bin/id', 1, USER_STACK);
    const guest = fakeGuest(linux, AARCH64);
    const { events } = collect(execMonitor.start({ domain: guest.domain, kernel: guest.kernel }));
    const spec = guest.domain.hookAt(`exec:${hook.toString(16)}`);
    expect(spec.kind === 'exec' && spec.capture).toBeUndefined();
    const event = hookHit(guest, { task, args: [bprm], at: hook + 4n });
    expect(Object.keys(event.registers!).sort()).toEqual(['pc', 'sp_el0', 'x0']);
    await guest.domain.fire(`exec:${hook.toString(16)}`, event);
    expect(events).toHaveLength(1);
    expect(events[0]!.process).toMatchObject({ pid: 120, executable: '/usr/bin/id', args: ['id'] });
    expect(events[0]!.vmi).toEqual({ rip: hook + 4n, hook: 'setup_new_exec' });
  });

  it('turns an unreadable task into an event saying so, and keeps monitoring', async () => {
    const { linux, hook, task } = world();
    const bprm = linux.binprm('/bin/true', 0, 0n);
    const guest = fakeGuest(linux, X86_64);
    const { events, errors, completed } = collect(
      execMonitor.start({ domain: guest.domain, kernel: guest.kernel }),
    );
    const bad = hookHit(guest, { task, args: [bprm], time: 3 });
    bad.registers!.gs_base = 0xdead_0000_0000n;
    await guest.domain.fire(`exec:${hook.toString(16)}`, bad, 'read');
    expect(events).toEqual([
      expect.objectContaining({
        type: 'process.exec',
        time: 3,
        details: { error: expect.stringMatching(/could not read the exec: .*current task/) },
      }),
    ]);
    await guest.domain.fire(
      `exec:${hook.toString(16)}`,
      hookHit(guest, { task, args: [bprm] }),
      'read',
    );
    expect(events).toHaveLength(2);
    expect(events[1]!.process?.executable).toBe('/bin/true');
    expect(errors).toEqual([]);
    expect(completed()).toBe(false);
  });

  it('removes its hook on unsubscribe', () => {
    const { linux, hook } = world();
    const guest = fakeGuest(linux, X86_64);
    const { subscription } = collect(
      execMonitor.start({ domain: guest.domain, kernel: guest.kernel }),
    );
    expect(guest.domain.planted()).toHaveLength(1);
    subscription.unsubscribe();
    expect(guest.domain.planted()).toEqual([]);
    expect(guest.domain.removedLog).toEqual([expect.objectContaining({ address: hook })]);
  });

  it('is refused without setup_new_exec or without breakpoints', () => {
    const linux = new FakeLinux();
    linux.kernelText(['other_function']);
    const guest = fakeGuest(linux, X86_64, { capabilities: { breakpoints: 'none' } });
    expect(missingRequirements(execMonitor, guest.kernel, guest.domain)).toEqual([
      'kernel symbol setup_new_exec is missing',
      'capability breakpoints must be hidden or int3 or debugger, but fake-guest has none',
    ]);
  });
});

describe('exec argument helpers', () => {
  it('split captured strings and say whether all argc were there', () => {
    const bytes = Buffer.from('a\0bc\0d');
    expect(splitStrings(bytes, 2)).toEqual({ strings: ['a', 'bc'], complete: true });
    expect(splitStrings(bytes, 3)).toEqual({ strings: ['a', 'bc'], complete: false });
  });

  it('read no arguments for argc 0 and stop at 256 for a hostile argc', () => {
    const linux = new FakeLinux();
    const [task] = linux.process(5, 'x');
    const page = new Uint8Array(0x1000); // all NUL: every argument is ''
    linux.addressSpace(task!.task, [{ virtual: USER_STACK, bytes: page }]);
    const kernel = linux.kernel();
    const root = linux.get64(linux.get64(task!.task + 0x310n) + 0x10n);
    expect(readArguments(kernel, root, USER_STACK, 0)).toEqual([]);
    expect(readArguments(kernel, root, USER_STACK, 1_000_000)).toHaveLength(256);
  });
});
