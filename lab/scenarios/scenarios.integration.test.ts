// Boots the sample guest and runs every attack scenario's run.sh then cleanup.sh in it, checking from
// inside the guest that each did what it says, that cleanup undid it, and that the guest stays healthy.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GuestControl } from '../guest/control.js';
import { startSampleGuest, type RunningGuest } from '../guest/launch.js';
import { listScenarios, runScenario } from './scenarios.js';

let guest: RunningGuest;
let control: GuestControl;

beforeAll(async () => {
  // RINGSIDE_GUEST_NAME: another name, for a run beside CI's on one machine.
  guest = await startSampleGuest({
    name: process.env.RINGSIDE_GUEST_NAME ?? 'it-scenarios',
    plugin: false,
  });
  control = await guest.control();
}, 240_000);

afterAll(async () => {
  control?.close();
  await guest?.stop();
});

/** Runs a command in the guest and returns its output; it must succeed. */
async function sh(command: string): Promise<string> {
  const result = await control.run(command, 30_000);
  if (result.status !== 0) {
    throw new Error(`guest command failed (${result.status}): ${command}\n${result.output}`);
  }
  return result.output;
}

/** Whether the guest has that /proc entry (a pid still in the PID table, the control file …). */
const exists = async (path: string): Promise<boolean> =>
  (await control.run(`test -e ${path}`, 30_000)).status === 0;

const moduleLoaded = async (): Promise<boolean> =>
  (await sh('cat /proc/modules')).split('\n').some((line) => line.startsWith('ringside_test '));

const rkListed = async (): Promise<boolean> =>
  (await sh('cat /proc/modules')).split('\n').some((line) => line.startsWith('ringside_rk '));

const savedPid = async (scenario: string): Promise<number> =>
  Number((await sh(`cat /run/ringside-scenarios/${scenario}.pid`)).trim());

/** One line of /proc/PID/status, e.g. Uid:\t0\t0\t0\t0. */
const statusLine = async (pid: number, key: string): Promise<string> =>
  (await sh(`grep '^${key}:' /proc/${pid}/status`)).trim().replace(/\s+/g, ' ');

interface Checks {
  afterRun(output: string): Promise<void>;
  afterCleanup(): Promise<void>;
}

const pids = new Map<string, number>();

/** What each scenario must have done (after run.sh) and undone (after cleanup.sh). */
const checks: Record<string, Checks> = {
  'exec-from-tmp': {
    async afterRun(output) {
      expect(output).toContain('uid=1000(app)');
      const pid = await savedPid('exec-from-tmp');
      pids.set('exec-from-tmp', pid);
      expect((await sh(`readlink /proc/${pid}/exe`)).trim()).toBe('/tmp/.x/payload');
      expect(await statusLine(pid, 'Uid')).toBe('Uid: 1000 1000 1000 1000');
    },
    async afterCleanup() {
      expect(await exists(`/proc/${pids.get('exec-from-tmp')}`)).toBe(false);
      expect(await exists('/tmp/.x')).toBe(false);
    },
  },
  'rootkit-syscall-hook': {
    async afterRun(output) {
      expect(await moduleLoaded()).toBe(true);
      // The module reads sys_call_table[217] back: it points into the module now.
      expect(output).toMatch(
        /^hook 217 entry ringside_hooked_syscall \[ringside_test\] original __x64_sys_getdents64 /m,
      );
      // The table is where /proc/kallsyms says it is.
      const table = /^sys_call_table ([0-9a-f]+)$/m.exec(output)?.[1];
      expect(await sh('grep " sys_call_table$" /proc/kallsyms')).toContain(`${table} `);
      // This kernel dispatches through x64_sys_call's switch: getdents64 (ls) works unchanged.
      expect(await sh('ls /opt/scenarios')).toContain('ringside_test.ko');
    },
    async afterCleanup() {
      expect(await sh('dmesg')).toContain('ringside_test: restored sys_call_table[217]');
      expect(await moduleLoaded()).toBe(false);
      expect(await exists('/tmp/.rk')).toBe(false);
    },
  },
  'hidden-process': {
    async afterRun(output) {
      const pid = Number(/^hid pid (\d+)$/m.exec(output)?.[1]);
      pids.set('hidden-process', pid);
      expect(pid).toBeGreaterThan(1);
      // Off the task list, as the module sees it walking for_each_process …
      expect(output).toContain(`hidden ${pid} on_task_list no`);
      // … but still in the PID table: /proc/PID and busybox ps (which reads /proc) still show it.
      expect(await statusLine(pid, 'Name')).toBe('Name: sleep');
      expect(await statusLine(pid, 'Uid')).toBe('Uid: 65534 65534 65534 65534');
      expect(await sh('ps')).toMatch(new RegExp(`^\\s*${pid} nobody\\s+sleep 600$`, 'm'));
    },
    async afterCleanup() {
      // Relinked, killed and reaped: exit went through the task list's unlink safely.
      expect(await exists(`/proc/${pids.get('hidden-process')}`)).toBe(false);
      expect(await moduleLoaded()).toBe(false);
    },
  },
  'privilege-escalation': {
    async afterRun(output) {
      expect(output).toContain('before: uid=1000(app) gid=1000(app)');
      expect(output).toContain('after: uid=0(root) gid=0(root)');
      const pid = await savedPid('privilege-escalation');
      pids.set('privilege-escalation', pid);
      expect(await statusLine(pid, 'Name')).toBe('Name: sleep');
      expect(await statusLine(pid, 'Uid')).toBe('Uid: 0 0 0 0');
      expect(await statusLine(pid, 'Gid')).toBe('Gid: 0 0 0 0');
    },
    async afterCleanup() {
      expect(await exists(`/proc/${pids.get('privilege-escalation')}`)).toBe(false);
      expect(await moduleLoaded()).toBe(false);
    },
  },
  'reverse-shell': {
    async afterRun(output) {
      expect(output).toMatch(/nc: can't connect to remote host \(203\.0\.113\.7\)/);
      expect(output).toMatch(/pipeline ended with status \d+/);
      expect(await sh('ps')).not.toMatch(/nc 203\.0\.113\.7|sh -i/);
      expect(await exists('/tmp/f')).toBe(false);
    },
    async afterCleanup() {},
  },
  'kernel-text-write': {
    async afterRun(output) {
      expect(output).toMatch(/^texthook \S*getppid jumps to ringside_hooked_getppid/m);
      expect(await sh('dmesg')).toMatch(
        /ringside_test: \S*getppid\S* \(\S+\) jumps to ringside_hooked_getppid/,
      );
      // The hook does getppid's work: a shell's parent is still its parent.
      // (`; true`: a shell execs its last command in place, and its child would be its parent's.)
      const [self, parent] = (await sh("echo $$; sh -c 'echo $PPID'; true")).trim().split('\n');
      expect(self).toMatch(/^\d+$/);
      expect(parent).toBe(self);
    },
    async afterCleanup() {
      expect(await sh('dmesg')).toMatch(/ringside_test: restored the text of /);
      expect(await moduleLoaded()).toBe(false);
    },
  },
  'code-injection': {
    async afterRun(output) {
      const pid = await savedPid('code-injection');
      pids.set('code-injection', pid);
      expect(output).toMatch(new RegExp(`^injected 16 bytes into pid ${pid} at 0x[0-9a-f]+`, 'm'));
      // The target runs on, with an anonymous rwx mapping it never asked for.
      expect(await sh(`grep -c ' rwxp 00000000 00:00 0' /proc/${pid}/maps`)).toMatch(/^1\s*$/);
      expect(await statusLine(pid, 'State')).toMatch(/^State: S/);
    },
    async afterCleanup() {
      expect(await exists(`/proc/${pids.get('code-injection')}`)).toBe(false);
    },
  },
  'kthread-masquerade': {
    async afterRun(output) {
      const pid = await savedPid('kthread-masquerade');
      pids.set('kthread-masquerade', pid);
      expect(output).toContain(`pid ${pid} poses as [kworker/0:2H]`);
      expect(await statusLine(pid, 'Name')).toBe('Name: kworker/0:2H');
      expect(await statusLine(pid, 'Uid')).toBe('Uid: 1000 1000 1000 1000');
    },
    async afterCleanup() {
      expect(await exists(`/proc/${pids.get('kthread-masquerade')}`)).toBe(false);
    },
  },
  'namespace-escape': {
    async afterRun(output) {
      const pid = await savedPid('namespace-escape');
      pids.set('namespace-escape', pid);
      // In init's mount namespace, still in a PID namespace of its own.
      const match = /^escaped pid (\d+): mnt (\S+) \(init's (\S+)\), pid ns (\S+)$/m.exec(output);
      expect(match?.[1]).toBe(String(pid));
      expect(match?.[2]).toBe(match?.[3]);
      expect(match?.[4]).not.toBe((await sh('readlink /proc/1/ns/pid')).trim());
      expect(await sh('dmesg')).toContain(`ringside_test: pid ${pid} (sh) gets init's namespaces`);
    },
    async afterCleanup() {
      expect(await exists(`/proc/${pids.get('namespace-escape')}`)).toBe(false);
      expect(await moduleLoaded()).toBe(false);
    },
  },
  'rootkit-hidden-module': {
    async afterRun(output) {
      // Loaded (its control file answers) yet invisible to lsmod and sysfs.
      expect(output).toMatch(/^hidden yes$/m);
      expect(await rkListed()).toBe(false);
      expect(await exists('/sys/module/ringside_rk')).toBe(false);
      expect(await exists('/proc/ringside_rk')).toBe(true);
    },
    async afterCleanup() {
      // Unhidden, then unloaded by rmmod, which found it on the list again.
      expect(await exists('/proc/ringside_rk')).toBe(false);
      expect(await rkListed()).toBe(false);
    },
  },
  'rootkit-function-hook': {
    async afterRun(output) {
      // Both hooks are registered and their handlers ran (ls → getdents64, kill -0 → kill).
      expect(output).toMatch(/^ftrace __x64_sys_getdents64 calls [1-9]\d*$/m);
      expect(output).toMatch(/^kprobe __x64_sys_kill calls [1-9]\d*$/m);
      expect(await rkListed()).toBe(true);
    },
    async afterCleanup() {
      expect(await rkListed()).toBe(false);
    },
  },
  'bpf-write-user': {
    async afterRun(output) {
      const pid = await savedPid('bpf-write-user');
      pids.set('bpf-write-user', pid);
      expect(output).toContain('loaded rk_write_user, attached to raw tracepoint sys_enter');
      // The kernel warns when a program with bpf_probe_write_user is loaded.
      expect(await sh('dmesg')).toMatch(
        /bpf-write-user\[\d+\] is installing a program with bpf_probe_write_user helper/,
      );
    },
    async afterCleanup() {
      expect(await exists(`/proc/${pids.get('bpf-write-user')}`)).toBe(false);
    },
  },
  'fileless-exec': {
    async afterRun(output) {
      const pid = await savedPid('fileless-exec');
      pids.set('fileless-exec', pid);
      expect(output).toContain(`payload running from a memfd as pid ${pid}`);
      // Executed from the memfd: no file on any disk holds the running program.
      expect((await sh(`readlink /proc/${pid}/exe`)).trim()).toMatch(/^\/memfd:payload/);
      expect(await statusLine(pid, 'Uid')).toBe('Uid: 1000 1000 1000 1000');
    },
    async afterCleanup() {
      expect(await exists(`/proc/${pids.get('fileless-exec')}`)).toBe(false);
    },
  },
};

describe('attack scenarios in the sample guest', () => {
  const scenarios = listScenarios();

  it('every scenario has checks here', () => {
    expect(scenarios.map((scenario) => scenario.name).sort()).toEqual(Object.keys(checks).sort());
  });

  for (const scenario of scenarios) {
    it(`${scenario.name}: run.sh does what it says, cleanup.sh undoes it`, async () => {
      const check = checks[scenario.name]!;
      const started = Date.now();
      const run = await runScenario(control, scenario.name, 'run');
      // run.sh ends on its own within seconds, even under TCG on a busy machine.
      expect(Date.now() - started).toBeLessThan(20_000);
      expect(run.status).toBe(0);
      await check.afterRun(run.output);
      await runScenario(control, scenario.name, 'cleanup');
      await check.afterCleanup();
    });
  }

  it('names the scenario when its script fails', async () => {
    const source = mkdtempSync(join(tmpdir(), 'ringside-scenarios-'));
    try {
      mkdirSync(join(source, 'broken'));
      writeFileSync(join(source, 'broken', 'run.sh'), 'echo oops; exit 3\n');
      await sh(
        `mkdir -p /opt/scenarios/broken && printf 'echo oops; exit 3\\n' >/opt/scenarios/broken/run.sh`,
      );
      await expect(runScenario(control, 'broken', 'run', { source })).rejects.toThrow(
        /scenario broken: run\.sh exited with status 3:\s+oops/,
      );
      await expect(runScenario(control, 'no-such-scenario', 'run')).rejects.toThrow(
        /no scenario no-such-scenario/,
      );
    } finally {
      rmSync(source, { recursive: true, force: true });
      await sh('rm -rf /opt/scenarios/broken');
    }
  });

  it('leaves the guest healthy', async () => {
    expect(await moduleLoaded()).toBe(false);
    expect(await exists('/proc/ringside_test')).toBe(false);
    expect(await exists('/proc/ringside_rk')).toBe(false);
    const ps = await sh('ps');
    for (const name of ['webd', 'web-worker', 'dbd', 'monitord', 'collector', 'guestctl']) {
      expect(ps).toContain(`{${name}}`);
    }
    expect(ps).not.toMatch(/sleep 600|payload|bpf-write-user/);
    // No oops, BUG or warning from the kernel (list corruption would be one).
    expect(await sh('dmesg')).not.toMatch(
      /BUG|Oops|WARNING|list_del corruption|general protection/,
    );
    expect((await sh('id')).trim()).toMatch(/^uid=0\(root\)/);
  });
});
