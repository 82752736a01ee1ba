// A libvirt domain, unchanged: the sample guest as a transient type='qemu' (TCG) domain under real
// libvirtd; `guests` names it, `ps --libvirt` equals the guest's own list, `monitor --libvirt` sees
// execs and a credential change through hardware breakpoints planted via libvirt's pass-through.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLibvirtSampleGuest, type LibvirtGuest } from '../../../lab/guest/libvirt.js';
import type { GuestControl } from '../../../lab/guest/control.js';
import { LibvirtMonitor } from './libvirt.js';
import { hmp, startGdbstub } from './gdbstub.js';
import { GdbRemote } from '../qemu/gdb-remote.js';
import { runScenario } from '../../../lab/scenarios/scenarios.js';

const repo = join(import.meta.dirname ?? '.', '..', '..', '..');
const cli = join(repo, 'dist', 'cli', 'main.js');
const DOMAIN = 'ringside-test-qemu2-libvirt';

let guest: LibvirtGuest;
let control: GuestControl;

beforeAll(async () => {
  guest = await startLibvirtSampleGuest({ domain: DOMAIN });
  control = await guest.control();
}, 300_000);

afterAll(async () => {
  control?.close();
  await guest?.stop();
}, 60_000);

const ringside = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });

const expectGuestList = (stdout: string): void => {
  const rows = JSON.parse(stdout) as { pid: number; ppid: number; uid: number }[];
  const own = guest.view.processes.filter((entry) => !entry.name.startsWith('kworker'));
  expect(own.length).toBeGreaterThan(10);
  for (const process of own)
    expect(rows).toContainEqual(
      expect.objectContaining({ pid: process.pid, ppid: process.ppid, uid: process.uid }),
    );
};

describe('a libvirt domain started with no Ringside arguments', () => {
  it('`guests --json` names its libvirt domain and offers the libvirt attach mode', () => {
    const result = ringside('guests', '--json');
    expect(result.status).toBe(0);
    const rows = JSON.parse(result.stdout) as Record<string, unknown>[];
    const row = rows.find((entry) => entry['pid'] === guest.pid);
    expect(row).toMatchObject({
      name: DOMAIN,
      libvirtDomain: DOMAIN,
      accelerator: 'tcg',
      architecture: 'x86_64',
      ringsidePlugin: false,
    });
    expect((row!['attachModes'] as string[]).join(';')).toMatch(/libvirt \(--libvirt /);
  });

  it('`ps --libvirt DOMAIN --json` equals the guest’s own list', () => {
    const result = ringside('ps', '--json', '--libvirt', DOMAIN);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expectGuestList(result.stdout);
  });

  it('`ps --qemu NAME` on a libvirt QEMU goes through libvirt, not its busy QMP socket', () => {
    const result = ringside('ps', '--json', '--qemu', DOMAIN);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expectGuestList(result.stdout);
  });

  it('an unknown domain is one line naming it, exit 2', () => {
    const result = ringside('ps', '--libvirt', 'ringside-test-qemu2-no-such-domain');
    expect(result.status).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/--libvirt ringside-test-qemu2-no-such-domain/);
  });

  it('a monitor killed with SIGKILL leaves its gdbstub; a second monitor meanwhile is refused; the next one cleans up, says so, and works', async () => {
    const startMonitor = () => {
      const child = spawn(
        process.execPath,
        [cli, 'monitor', '--libvirt', DOMAIN, '--plugins', 'exec,cred'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      const exited = new Promise<number | null>((resolve) =>
        child.once('exit', (code) => resolve(code)),
      );
      const planted = new Promise<void>((resolve, reject) => {
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (stderr.includes('ringside: hooks planted')) resolve();
        });
        child.once('exit', (code) => reject(new Error(`monitor exited (${code}): ${stderr}`)));
      });
      planted.catch(() => undefined);
      return { child, exited, planted, output: () => ({ stdout, stderr }) };
    };
    const monitor = new LibvirtMonitor(DOMAIN);
    const first = startMonitor();
    await first.planted;
    const second = startMonitor();
    expect(await second.exited).not.toBe(0);
    expect(second.output().stderr).toMatch(
      new RegExp(`another Ringside \\(pid ${first.child.pid}\\) is attached`),
    );
    first.child.kill('SIGKILL');
    await first.exited;
    // What a SIGKILL leaves: QEMU still runs the stub (and holds its breakpoints).
    expect(await hmp(monitor, 'info chardev')).toMatch(
      new RegExp(`ringside-gdb-${first.child.pid}-`),
    );
    // An exec now may stop the guest on a stale breakpoint; the next attach must undo that too.
    const pending = control.run('/bin/true qemu2-stale');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const statusBefore = (await monitor.execute<{ status: string }>('query-status')).status;
    process.stderr.write(`qemu2: guest status after the SIGKILL and an exec: ${statusBefore}\n`);
    const third = startMonitor();
    await third.planted;
    expect(third.output().stderr).toMatch(
      new RegExp(`cleaned up after a Ringside \\(pid ${first.child.pid}\\) that died attached`),
    );
    expect((await pending).status).toBe(0);
    await control.run('/bin/true qemu2-after-cleanup');
    const deadline = Date.now() + 30_000;
    while (!third.output().stdout.includes('qemu2-after-cleanup') && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 250));
    expect(third.output().stdout).toContain('qemu2-after-cleanup');
    third.child.kill('SIGINT');
    expect(await third.exited).toBe(0);
    expect(await hmp(monitor, 'info chardev')).not.toMatch(/ringside-gdb-/);
  }, 240_000);

  it('`monitor --libvirt DOMAIN` sees execs with argv and uid and an injected credential change, and detach leaves no gdbstub', async () => {
    const child = spawn(
      process.execPath,
      [cli, 'monitor', '--libvirt', DOMAIN, '--plugins', 'exec,cred'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('ringside: hooks planted')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`monitor exited (${code}): ${stderr}`)));
    });
    for (let run = 0; run < 3; run++) await control.run('/bin/true qemu2-libvirt-marker');
    const deadline = Date.now() + 60_000;
    const marked = () =>
      stdout
        .split('\n')
        .filter(Boolean)
        .map(
          (line) =>
            JSON.parse(line) as {
              type: string;
              process?: { args?: string[] };
              user?: { id?: number };
            },
        )
        .filter(
          (event) =>
            event.type === 'process.exec' && event.process?.args?.[1] === 'qemu2-libvirt-marker',
        );
    while (marked().length < 3 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 250));
    // An injected credential change (uid 1000 → 0 through commit_creds, no setuid program).
    await runScenario(control, 'privilege-escalation', 'run');
    const escalated = () =>
      stdout
        .split('\n')
        .filter((line) => line.includes('"cred.change"'))
        .map((line) => JSON.parse(line) as { user?: { id?: number; previous_id?: number } })
        .filter((event) => event.user?.id === 0 && event.user.previous_id === 1000);
    try {
      const until = Date.now() + 30_000;
      while (escalated().length === 0 && Date.now() < until)
        await new Promise((resolve) => setTimeout(resolve, 250));
    } finally {
      await runScenario(control, 'privilege-escalation', 'cleanup');
    }
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(marked()).toHaveLength(3);
    expect(marked()[0]).toMatchObject({
      process: { args: ['/bin/true', 'qemu2-libvirt-marker'] },
      user: { id: 0 },
    });
    expect(escalated().length).toBeGreaterThan(0);
    expect(stderr).toMatch(/detached; the guest runs on/);
    // The gdbstub Ringside started is gone (its socket chardev; QEMU keeps an internal "gdb" one),
    // the guest runs, and a fresh gdbstub sees no breakpoint stop when the guest execs.
    const monitor = new LibvirtMonitor(DOMAIN);
    expect(await hmp(monitor, 'info chardev')).not.toMatch(/ringside-gdb-/);
    expect(await monitor.execute<{ status: string }>('query-status')).toMatchObject({
      status: 'running',
    });
    const stub = await startGdbstub(monitor);
    const gdb = await GdbRemote.connect(stub.socket);
    try {
      await gdb.request('?');
      gdb.send('c');
      const stop = gdb.next(10_000).then(
        (packet) => packet,
        () => 'no stop',
      );
      expect((await control.run('/bin/true qemu2-after && echo ran')).output).toContain('ran');
      gdb.interrupt();
      expect(await stop).toMatch(/^T02|^S02/); // our interrupt, not a breakpoint (T05)
      await gdb.request('D;1').catch(() => gdb.request('D'));
    } finally {
      gdb.close();
      await stub.stop();
    }
    expect((await control.run('echo alive')).output).toContain('alive');
  }, 180_000);

  // Last: it ends the guest.
  it('QEMU’s events come through libvirt (`virsh qemu-monitor-event`): a suspend and resume are STOP and RESUME', async () => {
    const monitor = new LibvirtMonitor(DOMAIN);
    const seen: string[] = [];
    monitor.onEvent(({ event }) => seen.push(event));
    try {
      // The event stream starts with the first listener; suspend and resume until it has seen them.
      for (let attempt = 0; attempt < 15 && !seen.includes('RESUME'); attempt++) {
        await new Promise((done) => setTimeout(done, 1000));
        expect(spawnSync('virsh', ['-q', '-c', 'qemu:///system', 'suspend', DOMAIN]).status).toBe(
          0,
        );
        expect(spawnSync('virsh', ['-q', '-c', 'qemu:///system', 'resume', DOMAIN]).status).toBe(0);
        await new Promise((done) => setTimeout(done, 500));
      }
      expect(seen).toEqual(expect.arrayContaining(['STOP', 'RESUME']));
    } finally {
      monitor.close();
    }
    expect((await control.run('echo still-running')).output).toContain('still-running');
  });

  it('`guest snapshot --libvirt DOMAIN` writes an ELF core (virsh dump --memory-only) that `snapshot pslist` reads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qemuany-libvirt-dump-'));
    try {
      const dump = join(dir, 'guest.elf');
      const taken = ringside('guest', 'snapshot', '--libvirt', DOMAIN, '-o', dump);
      expect(taken.status).toBe(0);
      const listed = ringside('snapshot', 'pslist', dump, '--json');
      expect(listed.status).toBe(0);
      expectGuestList(listed.stdout);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('QEMU exiting under a running monitor ends it with one line naming the cause, exit 1, no hang', async () => {
    const child = spawn(
      process.execPath,
      [cli, 'monitor', '--libvirt', DOMAIN, '--plugins', 'exec,hidden'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('ringside: hooks planted')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`monitor exited (${code}): ${stderr}`)));
    });
    const before = stderr.length;
    expect(spawnSync('virsh', ['-q', '-c', 'qemu:///system', 'destroy', DOMAIN]).status).toBe(0);
    const code = await Promise.race([
      exited,
      new Promise<string>((resolve) => setTimeout(() => resolve('hung'), 30_000)),
    ]);
    child.kill('SIGKILL');
    const after = stderr.slice(before).trim().split('\n');
    expect(code).toBe(1);
    expect(after).toHaveLength(1);
    expect(after[0]).toMatch(/QEMU|gdbstub|closed/);
    expect(stderr).not.toMatch(/\n\s+at /);
  }, 120_000);
});
