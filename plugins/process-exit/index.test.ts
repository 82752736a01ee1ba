import { AARCH64, X86_64 } from '../../introspect/arch/index.js';
import { FakeLinux } from '../../introspect/os/linux/test-support/fake-linux.js';
import { missingRequirements } from '../requirements.js';
import { collect, fakeGuest, hookHit } from '../test-support/fake-guest.js';
import { processExit } from './index.js';

/** A daemon (pid 40) with a thread (41), started by init (pid 1), running as uid 33. */
function world() {
  const linux = new FakeLinux();
  const hook = linux.kernelText(['do_exit']).get('do_exit')!;
  const [init] = linux.process(1, 'init');
  const [daemon, thread] = linux.process(40, 'daemon', [41]);
  for (const task of [daemon!.task, thread!.task]) {
    linux.setParent(task, init!.task);
    linux.setCredentials(task, { uid: 33, gid: 33, euid: 33, egid: 33 });
  }
  return {
    linux,
    key: `exec:${hook.toString(16)}` as const,
    hook,
    daemon: daemon!.task,
    thread: thread!.task,
  };
}

describe('process-exit', () => {
  it.each([
    ['x86-64 with captures', X86_64, true],
    ['x86-64 held', X86_64, false],
    ['AArch64', AARCH64, true],
  ] as const)(
    'reports the group leader leaving with its exit status (%s)',
    async (_, arch, captures) => {
      const { linux, key, hook, daemon } = world();
      const guest = fakeGuest(linux, arch, { capabilities: { captures } });
      const { events } = collect(processExit.start({ domain: guest.domain, kernel: guest.kernel }));
      const spec = guest.domain.hookAt(key);
      const captured = spec.kind === 'exec' && spec.capture !== undefined;
      expect(captured).toBe(captures && arch === X86_64);
      await guest.domain.fire(
        key,
        hookHit(guest, { task: daemon, args: [(3n << 8n) | 0xf0000n] }),
        captured ? 'read' : undefined,
      );
      expect(events).toEqual([
        expect.objectContaining({
          type: 'process.exit',
          process: expect.objectContaining({
            pid: 40,
            ppid: 1,
            name: 'daemon',
            parent: { pid: 1, name: 'init' },
          }),
          user: { id: 33, group_id: 33, effective_id: 33 },
          vmi: { rip: hook, hook: 'do_exit' },
          details: { exit_code: 3 },
        }),
      ]);
    },
  );

  it('names the signal that killed a process, and skips threads that are not the leader', async () => {
    const { linux, key, daemon, thread } = world();
    const guest = fakeGuest(linux, X86_64);
    const { events } = collect(processExit.start({ domain: guest.domain, kernel: guest.kernel }));
    await guest.domain.fire(key, hookHit(guest, { task: thread, args: [0n] }), 'read');
    expect(events).toEqual([]);
    await guest.domain.fire(key, hookHit(guest, { task: daemon, args: [9n] }), 'read');
    expect(events.map((event) => event.details)).toEqual([{ exit_code: 0, signal: 9 }]);
  });

  it('turns a missing argument register into an event saying the task could not be read', async () => {
    const { linux, key, daemon } = world();
    const guest = fakeGuest(linux, AARCH64);
    const { events, errors } = collect(
      processExit.start({ domain: guest.domain, kernel: guest.kernel }),
    );
    await guest.domain.fire(key, hookHit(guest, { task: daemon }));
    expect(errors).toEqual([]);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'process.exit',
        details: {
          error: expect.stringMatching(/could not read the exiting task: .*AArch64 register x0/),
        },
      }),
    ]);
  });

  it('is refused without do_exit', () => {
    const linux = new FakeLinux();
    const guest = fakeGuest(linux);
    expect(missingRequirements(processExit, guest.kernel, guest.domain)).toEqual([
      'kernel symbol do_exit is missing',
    ]);
  });
});
