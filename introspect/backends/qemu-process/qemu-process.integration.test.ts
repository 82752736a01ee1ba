// Any running QEMU, unchanged: the sample guest started as anyone would (plain -m RAM, no plugin, no
// gdbstub, only a QMP socket); `guests`, `ps` by pid and by name against the guest's own list,
// `monitor` seeing execs and an injected credential change through hardware breakpoints, detach
// leaving no breakpoint, a non-QEMU pid.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSampleGuest, type RunningGuest } from '../../../lab/guest/launch.js';
import type { GuestControl } from '../../../lab/guest/control.js';
import { QmpClient } from '../qemu/qmp.js';
import { GdbRemote } from '../qemu/gdb-remote.js';
import { readVcpuStates } from '../qemu/monitor-registers.js';
import { GuestControl as Control } from '../../../lab/guest/control.js';
import { READY_MARKER } from '../../../lab/guest/guest-view.js';
import { hmp, startGdbstub } from './gdbstub.js';
import { openProcessMemory } from './open-memory.js';
import { qemuByPid } from './qemu-processes.js';
import { openLinuxKernel } from '../../os/linux/linux-kernel.js';
import { listTasks } from '../../os/linux/tasks.js';
import { runScenario } from '../../../lab/scenarios/scenarios.js';

const repo = join(import.meta.dirname ?? '.', '..', '..', '..');
const cli = join(repo, 'dist', 'cli', 'main.js');
const NAME = 'qemuany-it';

let guest: RunningGuest;
let control: GuestControl;

beforeAll(async () => {
  guest = await startSampleGuest({ name: NAME, plain: true });
  control = await guest.control();
}, 240_000);

afterAll(async () => {
  control?.close();
  await guest?.stop();
});

const ringside = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });

/** Runs `monitor` until `text` appears on stderr; resolves with the child and its output so far. */
function startMonitor(args: string[]) {
  const child = spawn(process.execPath, [cli, 'monitor', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const attached = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('ringside: hooks planted')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`monitor exited (${code}): ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  /** The NDJSON events printed so far. */
  const events = () =>
    stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as MonitorEvent);
  return { child, attached, exited, events, output: () => ({ stdout, stderr }) };
}

/** The fields of `monitor`'s events these tests look at. */
interface MonitorEvent {
  type: string;
  domain?: string;
  process?: { args?: string[] };
  user?: { id?: number; previous_id?: number };
  details?: { via?: string };
  lifecycle?: { reason?: string };
}

/** Waits until `check` holds or `ms` have passed (the assertions after it say which). */
async function poll(check: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((done) => setTimeout(done, 200));
}

describe('a QEMU started with no Ringside arguments', () => {
  it('the guest really has no shared RAM file, no plugin, no gdbstub', () => {
    const argv = spawnSync('cat', [`/proc/${guest.pid}/cmdline`], {
      encoding: 'utf8',
    }).stdout.split('\0');
    expect(argv).toContain('-qmp');
    expect(argv.join(' ')).not.toMatch(/memory-backend-file|-plugin|-gdb/);
  });

  it('`guests --json` lists it with its name, pid, accelerator, RAM, architecture and QMP socket', () => {
    const result = ringside('guests', '--json');
    expect(result.status).toBe(0);
    const rows = JSON.parse(result.stdout) as Record<string, unknown>[];
    expect(rows).toContainEqual(
      expect.objectContaining({
        name: NAME,
        pid: guest.pid,
        accelerator: 'tcg',
        ramMiB: guest.memoryMiB,
        architecture: 'x86_64',
        qmpSockets: [guest.endpoints.qmpSocket],
        ringsidePlugin: false,
      }),
    );
  });

  const expectGuestList = (stdout: string): void => {
    const rows = JSON.parse(stdout) as { pid: number; ppid: number; uid: number }[];
    const own = guest.view.processes.filter((entry) => !entry.name.startsWith('kworker'));
    expect(own.length).toBeGreaterThan(10);
    for (const process of own)
      expect(rows).toContainEqual(
        expect.objectContaining({ pid: process.pid, ppid: process.ppid, uid: process.uid }),
      );
  };

  it('`ps --qemu-pid PID --qmp SOCKET --json` equals the guest’s own list', () => {
    const result = ringside(
      'ps',
      '--json',
      '--qemu-pid',
      String(guest.pid),
      '--qmp',
      guest.endpoints.qmpSocket,
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expectGuestList(result.stdout);
  });

  it('`ps --qemu NAME` finds it by -name (and its QMP socket from its command line)', () => {
    const result = ringside('ps', '--json', '--qemu', NAME);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expectGuestList(result.stdout);
  });

  it('without QMP: the machine type’s known layout, said so, reads the same task list', async () => {
    const { memory, layoutSource, note } = await openProcessMemory(qemuByPid(guest.pid));
    try {
      expect(layoutSource).toBe('known-layout');
      expect(note).toMatch(/no QMP: RAM layout assumed from machine type q35/);
      const pids = new Set(listTasks(openLinuxKernel(memory, [])).tasks.map((task) => task.pid));
      for (const process of guest.view.processes.filter(
        (entry) => !entry.name.startsWith('kworker'),
      ))
        expect({ pid: process.pid, listed: pids.has(process.pid) }).toEqual({
          pid: process.pid,
          listed: true,
        });
    } finally {
      memory.close();
    }
  });

  it('a QMP socket that is not there: one line, exit 2', () => {
    const result = ringside(
      'ps',
      '--json',
      '--qemu-pid',
      String(guest.pid),
      '--qmp',
      '/nonexistent/qmp.sock',
    );
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/no such socket/);
  });

  it('a pid that is not QEMU: one clear line, exit 2', () => {
    const result = ringside('ps', '--json', '--qemu-pid', String(process.pid));
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toMatch(
      new RegExp(`^ringside: pid ${process.pid}: not a QEMU system emulator`),
    );
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('`monitor --qemu-pid` streams the workload’s execs with argv and uid and an injected credential change through hardware breakpoints; SIGINT detaches and leaves none', async () => {
    const monitor = startMonitor([
      '--qemu-pid',
      String(guest.pid),
      '--qmp',
      guest.endpoints.qmpSocket,
    ]);
    try {
      await monitor.attached;
      await control.run('for i in 1 2 3; do /bin/true qemuany-exec; done');
      // Events are written as the hooks fire; give the last one a moment to reach stdout.
      const execs = () =>
        monitor
          .events()
          .filter(
            (event) => event.type === 'process.exec' && event.process?.args?.[1] === 'qemuany-exec',
          );
      await poll(() => execs().length >= 3, 20_000);
      expect(execs()).toHaveLength(3);
      expect(execs()[0]).toMatchObject({
        // Without --name, events carry QEMU's own -name.
        domain: NAME,
        process: { args: ['/bin/true', 'qemuany-exec'] },
        user: { id: 0 },
      });
      // An injected credential change: uid 1000 becomes 0 through the test rootkit's
      // prepare_creds() + commit_creds(), no setuid program; seen at commit_creds' breakpoint.
      await runScenario(control, 'privilege-escalation', 'run');
      try {
        const escalations = () =>
          monitor
            .events()
            .filter(
              (event) =>
                event.type === 'cred.change' &&
                event.user?.id === 0 &&
                event.user.previous_id === 1000,
            );
        await poll(() => escalations().length > 0, 20_000);
        expect(escalations()[0]).toMatchObject({ details: { via: 'commit_creds' } });
      } finally {
        await runScenario(control, 'privilege-escalation', 'cleanup');
      }
      monitor.child.kill('SIGINT');
      expect(await monitor.exited).toBe(0);
      expect(monitor.output().stderr).toContain('detached; the guest runs on');
    } finally {
      monitor.child.kill('SIGKILL');
    }
    await expectNoBreakpoints();
  });

  it('registers over QMP (HMP `info registers -a`): each vCPU’s CR3 maps the kernel found in memory', async () => {
    const qmp = await QmpClient.connect(guest.endpoints.qmpSocket);
    const { memory } = await openProcessMemory(qemuByPid(guest.pid), qmp);
    try {
      const vcpus = await readVcpuStates(qmp);
      expect(vcpus.map((vcpu) => vcpu.index)).toEqual([0, 1]);
      for (const vcpu of vcpus) {
        expect(vcpu.registers.cr0! & (1n << 31n)).not.toBe(0n); // paging on
        expect(vcpu.registers.efer! & (1n << 10n)).not.toBe(0n); // long mode active
      }
      // Found from those CR3 values, not by a scan: the same kernel a scan finds.
      const fromCr3 = openLinuxKernel(memory, vcpus);
      const scanned = openLinuxKernel(memory, []);
      expect(fromCr3.image.rootSource).toBe('cr3');
      expect(fromCr3.slide).toBe(scanned.slide);
      expect(fromCr3.release).toBe(guest.view.release);
    } finally {
      memory.close();
      qmp.close();
    }
  });

  it('`guest snapshot --qemu-pid` writes an ELF core (QMP dump-guest-memory) whose `snapshot pslist` equals live `ps`', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qemuany-dump-'));
    const dump = join(dir, 'guest.elf');
    // Paused across both, so the two lists are of the same instant (ps leaves a paused guest paused).
    const qmp = await QmpClient.connect(guest.endpoints.qmpSocket);
    await qmp.execute('stop');
    qmp.close();
    try {
      const taken = ringside('guest', 'snapshot', '--qemu-pid', String(guest.pid), '-o', dump);
      expect(taken.status).toBe(0);
      const offline = ringside('snapshot', 'pslist', dump, '--json');
      expect(offline.status).toBe(0);
      const live = ringside('ps', '--json', '--qemu-pid', String(guest.pid));
      expect(live.status).toBe(0);
      const rows = JSON.parse(offline.stdout) as { pid: number }[];
      expect(rows.length).toBeGreaterThan(10);
      expect(rows).toEqual(JSON.parse(live.stdout));
      const after = await QmpClient.connect(guest.endpoints.qmpSocket);
      const { status } = await after.execute<{ status: string }>('query-status');
      after.close();
      expect(status).toBe('paused');
    } finally {
      rmSync(dir, { recursive: true, force: true });
      const again = await QmpClient.connect(guest.endpoints.qmpSocket);
      await again.execute('cont');
      again.close();
    }
  });

  it('a second Ringside on the same guest is refused with one line while the first monitors; SIGTERM detaches as cleanly', async () => {
    const monitor = startMonitor(['--qemu', NAME, '--qmp', guest.endpoints.qmpSocket]);
    try {
      await monitor.attached;
      // QEMU serves one QMP client at a time: the second waits for a greeting that never comes.
      const second = ringside(
        'monitor',
        '--qemu-pid',
        String(guest.pid),
        '--qmp',
        guest.endpoints.qmpSocket,
      );
      expect(second.status).toBe(1);
      // Its note about the breakpoints it would use, then the one line that refuses it; no stack.
      expect(second.stderr.trim().split('\n').pop()).toMatch(
        /^ringside: QMP \S+: no answer within 5000 ms \(is another QMP client connected\?\)$/,
      );
      expect(second.stderr).not.toMatch(/\n\s+at /);
      monitor.child.kill('SIGTERM');
      expect(await monitor.exited).toBe(0);
    } finally {
      monitor.child.kill('SIGKILL');
    }
    await expectNoBreakpoints();
  });
  // Last in the file: the guest reboots here.
  it('a guest reboot while attached: guest.reboot, hooks again in the next kernel, its execs seen, no hidden-process finding', async () => {
    const started = Date.now();
    // The sample guest runs with -no-reboot; let a reset reset, as a guest normally does.
    const qmp = await QmpClient.connect(guest.endpoints.qmpSocket);
    await qmp.execute('set-action', { reboot: 'reset' });
    qmp.close();
    const monitor = startMonitor([
      '--qemu-pid',
      String(guest.pid),
      '--qmp',
      guest.endpoints.qmpSocket,
    ]);
    const { events } = monitor;
    const until = async (what: () => boolean, ms: number, label: string) => {
      const deadline = Date.now() + ms;
      while (!what()) {
        if (Date.now() > deadline)
          throw new Error(`${label} not within ${ms} ms: ${monitor.output().stderr}`);
        await new Promise((done) => setTimeout(done, 250));
      }
    };
    const readyCount = () =>
      readFileSync(guest.endpoints.consoleLog, 'utf8').split(READY_MARKER).length - 1;
    let fresh: GuestControl | undefined;
    try {
      await monitor.attached;
      const bootsBefore = readyCount();
      await control.run('(sleep 1; echo b > /proc/sysrq-trigger) >/dev/null 2>&1 &');
      await until(
        () => events().some((event) => event.type === 'guest.reboot'),
        30_000,
        'guest.reboot',
      );
      expect(events().find((event) => event.type === 'guest.reboot')).toMatchObject({
        lifecycle: { reason: 'RESET (guest-reset)' },
      });
      // The next kernel is found and hooked once it has booted; the guest is up when it says so again.
      await until(
        () => (monitor.output().stderr.match(/hooks planted/g) ?? []).length >= 2,
        180_000,
        'hooks planted again',
      );
      await until(() => readyCount() > bootsBefore, 180_000, 'the rebooted guest ready');
      expect(monitor.output().stderr).toMatch(
        /RESET \(guest-reset\): hooks removed.*\n.*Linux \S+ found again/,
      );
      control.close();
      fresh = await Control.connect(guest.endpoints.controlSocket);
      await fresh.run('for i in 1 2 3; do /bin/true qemuany-reboot; done');
      const execs = () =>
        events().filter(
          (event) => event.type === 'process.exec' && event.process?.args?.[1] === 'qemuany-reboot',
        );
      await until(() => execs().length >= 3, 20_000, 'the execs after the reboot');
      expect(execs()).toHaveLength(3);
      // Periodic scans ran on the new kernel meanwhile (1 s apart); none saw a hidden process.
      await new Promise((done) => setTimeout(done, 3000));
      expect(events().filter((event) => event.type === 'process.hidden')).toEqual([]);
      monitor.child.kill('SIGINT');
      expect(await monitor.exited).toBe(0);
    } finally {
      monitor.child.kill('SIGKILL');
      if (fresh) control = fresh;
      process.stderr.write(`reboot test: ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    }
    await expectNoBreakpoints();
  }, 400_000);
});

/**
 * The guest runs and executes programs; then, through a fresh gdbstub, a program run while a debugger
 * is attached and the guest continued produces no stop: no breakpoint was left in QEMU.
 */
async function expectNoBreakpoints(): Promise<void> {
  expect((await control.run('/bin/true && echo still-running')).output).toContain('still-running');
  const qmp = await QmpClient.connect(guest.endpoints.qmpSocket);
  try {
    expect(await hmp(qmp, 'info status')).toMatch(/running/);
    const stub = await startGdbstub(qmp);
    const gdb = await GdbRemote.connect(stub.socket);
    try {
      await gdb.request('?');
      gdb.send('c');
      const stop = gdb.next(10_000).then(
        (packet) => packet,
        () => 'no stop',
      );
      expect((await control.run('/bin/true qemuany-after && echo ran')).output).toContain('ran');
      gdb.interrupt();
      expect(await stop).toMatch(/^T02|^S02/); // our interrupt, not a breakpoint (T05)
      await gdb.request('D;1').catch(() => gdb.request('D'));
    } finally {
      gdb.close();
      await stub.stop();
    }
    expect(await hmp(qmp, 'info status')).toMatch(/running/);
  } finally {
    qmp.close();
  }
}
