import { AARCH64, X86_64 } from '../../introspect/arch/index.js';
import { FakeLinux, PF_KTHREAD } from '../../introspect/os/linux/test-support/fake-linux.js';
import { TASK_CAPTURES, TASK_CRED_CAPTURE } from '../guest-context.js';
import { missingRequirements } from '../requirements.js';
import { collect, fakeGuest, hookHit } from '../test-support/fake-guest.js';
import { credMonitor } from './index.js';

const USER = { uid: 1000, gid: 1000, euid: 1000, egid: 1000 };
const ROOT = { uid: 0, gid: 0, euid: 0, egid: 0 };

/** A shell (pid 200, uid 1000) whose parent is sshd (pid 150). */
function world() {
  const linux = new FakeLinux();
  const hook = linux.kernelText(['commit_creds']).get('commit_creds')!;
  const [sshd] = linux.process(150, 'sshd');
  const [shell] = linux.process(200, 'sh');
  linux.setParent(shell!.task, sshd!.task);
  linux.setCredentials(shell!.task, USER);
  linux.setStartTime(shell!.task, 5_000_000n);
  return { linux, hook, key: `exec:${hook.toString(16)}` as const, task: shell!.task };
}

describe('cred-monitor at commit_creds', () => {
  it.each([
    ['x86-64 with captures', X86_64, true],
    ['x86-64 held', X86_64, false],
    ['AArch64', AARCH64, true],
  ] as const)(
    'reports a change to root with the credentials before (%s)',
    async (_, arch, captures) => {
      const { linux, hook, key, task } = world();
      const fresh = linux.cred(ROOT, 0);
      const guest = fakeGuest(linux, arch, { capabilities: { captures } });
      const { events } = collect(credMonitor.start({ domain: guest.domain, kernel: guest.kernel }));
      const spec = guest.domain.hookAt(key);
      const captured = spec.kind === 'exec' && spec.capture !== undefined;
      expect(captured).toBe(captures && arch === X86_64);
      if (spec.kind === 'exec' && captured)
        expect(spec.reportIfDiffer).toEqual([TASK_CRED_CAPTURE, TASK_CAPTURES]);
      await guest.domain.fire(
        key,
        hookHit(guest, { task, args: [fresh] }),
        captured ? 'read' : undefined,
      );
      expect(events).toEqual([
        expect.objectContaining({
          type: 'cred.change',
          process: expect.objectContaining({
            pid: 200,
            name: 'sh',
            parent: { pid: 150, name: 'sshd' },
          }),
          user: {
            id: 0,
            group_id: 0,
            effective_id: 0,
            previous_id: 1000,
            previous_effective_id: 1000,
            setuid_exec: false,
          },
          vmi: { rip: hook, hook: 'commit_creds', symbol: 'commit_creds' },
          details: { previous_group_id: 1000, via: 'commit_creds' },
        }),
      ]);
    },
  );

  it.each([
    ['captured', true],
    ['read while held', false],
  ] as const)(
    'flags a change made during an exec as a set-user-ID exec (in_execve %s)',
    async (_, captures) => {
      const { linux, key, task } = world();
      linux.setInExecve(task, true);
      const fresh = linux.cred({ ...USER, euid: 0 }, 1000);
      const guest = fakeGuest(linux, X86_64, { capabilities: { captures } });
      const { events } = collect(credMonitor.start({ domain: guest.domain, kernel: guest.kernel }));
      await guest.domain.fire(
        key,
        hookHit(guest, { task, args: [fresh] }),
        captures ? 'read' : undefined,
      );
      expect(events.map((event) => [event.user?.setuid_exec, event.details?.via])).toEqual([
        [true, 'exec'],
      ]);
    },
  );

  it('reports nothing when the credentials do not change (the backend does not even report the hit)', async () => {
    const { linux, key, task } = world();
    const same = linux.cred(USER, 1000);
    const guest = fakeGuest(linux, X86_64);
    const { events } = collect(credMonitor.start({ domain: guest.domain, kernel: guest.kernel }));
    expect(await guest.domain.fire(key, hookHit(guest, { task, args: [same] }), 'read')).toEqual({
      held: false,
      suppressed: true,
    });
    const held = fakeGuest(linux, X86_64, { capabilities: { captures: false } });
    collect(credMonitor.start({ domain: held.domain, kernel: held.kernel })).subscription.add(
      () => undefined,
    );
    const heldEvents = collect(
      credMonitor.start({ domain: held.domain, kernel: held.kernel }),
    ).events;
    await held.domain.fire(key, hookHit(held, { task, args: [same] }));
    expect(events).toEqual([]);
    expect(heldEvents).toEqual([]);
  });

  it('reports unreadable new credentials as such', async () => {
    const { linux, key, task } = world();
    const guest = fakeGuest(linux, X86_64, { capabilities: { captures: false } });
    const { events, errors } = collect(
      credMonitor.start({ domain: guest.domain, kernel: guest.kernel }),
    );
    await guest.domain.fire(key, hookHit(guest, { task, args: [0xffff_dead_0000_0000n] }));
    expect(errors).toEqual([]);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'cred.change',
        details: { error: expect.stringMatching(/^could not read the credentials: /) },
      }),
    ]);
  });

  it('is refused without commit_creds or without breakpoints', () => {
    const linux = new FakeLinux();
    const guest = fakeGuest(linux, X86_64, { capabilities: { breakpoints: 'none' } });
    expect(missingRequirements(credMonitor, guest.kernel, guest.domain)).toEqual([
      'kernel symbol commit_creds is missing',
      'capability breakpoints must be hidden or int3 or debugger, but fake-guest has none',
    ]);
  });
});

describe('cred-monitor on a snapshot (forged root)', () => {
  it('reports uid 0 while cred->user is another user, and nothing for real root or kernel threads', async () => {
    const { linux, task } = world();
    const [daemon] = linux.process(300, 'rootd');
    linux.setCredentials(daemon!.task, ROOT);
    const [worker] = linux.process(301, 'kworker');
    linux.setCredentials(worker!.task, ROOT, 1000);
    linux.setFlags(worker!.task, PF_KTHREAD);
    linux.patchCredentials(task, ROOT);
    const guest = fakeGuest(linux);
    const events = await credMonitor.judge!({
      kernel: guest.kernel,
      domain: 'snap',
      cpus: [],
      timestamp: '2026-12-03T09:00:00.000Z',
    });
    expect(events).toEqual([
      expect.objectContaining({
        type: 'cred.change',
        domain: 'snap',
        timestamp: '2026-12-03T09:00:00.000Z',
        process: { pid: 200, tgid: 200, ppid: 150, name: 'sh', task },
        user: {
          id: 0,
          group_id: 0,
          effective_id: 0,
          previous_id: 1000,
          previous_effective_id: 1000,
          setuid_exec: false,
        },
        details: { via: "uid 0 while cred->user is uid 1000's (no setuid, no exec made it)" },
      }),
    ]);
  });

  it('skips a task whose user_struct cannot be read, and still judges the others', async () => {
    const { linux, task } = world();
    const [other] = linux.process(400, 'other');
    linux.setCredentials(other!.task, ROOT, 1000);
    linux.setCredentials(task, ROOT, 1000);
    linux.set64(linux.get64(task + 0x308n) + 0x28n, 0xffff_dead_0000_0000n);
    const guest = fakeGuest(linux);
    const events = await credMonitor.judge!({
      kernel: guest.kernel,
      domain: 'snap',
      cpus: [],
      timestamp: 't',
    });
    expect(events.map((event) => event.process?.pid)).toEqual([400]);
  });
});
