// On a KVM host: boots the sample guest under KVM as anyone would (plain -m RAM, only a QMP socket)
// and runs the any-QEMU checks on it — guests, ps, monitor's execs and credential change, detach.
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startSampleGuest, type RunningGuest } from '../guest/launch.js';
import type { GuestControl } from '../guest/control.js';
import { runScenario } from '../scenarios/scenarios.js';

const cli = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const accelerator = process.argv.includes('--tcg') ? 'tcg' : 'kvm';
const NAME = `kvm-check-${process.pid}`;
let failures = 0;

function report(name: string, ok: boolean, detail: string): void {
  if (!ok) failures += 1;
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}\n`);
}

const ringside = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((done) => setTimeout(done, 200));
  return check();
}

/** Wall time of 50 execs of /bin/true inside the guest, in seconds. */
async function execLoop(control: GuestControl): Promise<number> {
  const started = performance.now();
  await control.run('i=0; while [ $i -lt 50 ]; do /bin/true; i=$((i+1)); done');
  return (performance.now() - started) / 1000;
}

async function checks(guest: RunningGuest, control: GuestControl): Promise<void> {
  const listed = ringside('guests', '--json');
  const row = (JSON.parse(listed.stdout || '[]') as Record<string, unknown>[]).find(
    (entry) => entry.pid === guest.pid,
  );
  report(
    'guests --json',
    row?.accelerator === accelerator,
    row ? `accelerator ${String(row.accelerator)}` : listed.stderr.trim() || 'not listed',
  );

  const qemu = ['--qemu-pid', String(guest.pid), '--qmp', guest.endpoints.qmpSocket];
  const ps = ringside('ps', '--json', ...qemu);
  const rows = ps.status === 0 ? (JSON.parse(ps.stdout) as { pid: number; uid: number }[]) : [];
  const own = guest.view.processes.filter((entry) => !entry.name.startsWith('kworker'));
  const missing = own.filter((p) => !rows.some((r) => r.pid === p.pid && r.uid === p.uid));
  report(
    'ps --qemu-pid',
    ps.status === 0 && own.length > 10 && missing.length === 0,
    ps.status === 0
      ? `${rows.length} tasks, ${own.length - missing.length} of the guest's own ${own.length}`
      : ps.stderr.trim(),
  );

  const bare = await execLoop(control);
  const monitor = spawn(process.execPath, [cli, 'monitor', ...qemu], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  monitor.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  monitor.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((done) => monitor.once('exit', done));
  try {
    const planted = await until(() => stderr.includes('ringside: hooks planted'), 60_000);
    report('monitor attaches', planted, planted ? 'hardware breakpoints planted' : stderr.trim());
    if (!planted) return;
    const lines = () =>
      stdout
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any
    for (let run = 0; run < 3; run += 1) await control.run('/bin/true kvm-check-exec');
    const execs = () =>
      lines().filter((e) => e.type === 'process.exec' && e.process?.args?.[1] === 'kvm-check-exec');
    report(
      'exec events',
      await until(() => execs().length === 3, 20_000),
      `${execs().length} of 3`,
    );
    await runScenario(control, 'privilege-escalation', 'run');
    const escalated = () =>
      lines().filter(
        (e) => e.type === 'cred.change' && e.user?.id === 0 && e.user?.previous_id === 1000,
      );
    const seen = await until(() => escalated().length > 0, 20_000);
    await runScenario(control, 'privilege-escalation', 'cleanup');
    report('credential change (uid 1000 → 0, commit_creds)', seen, seen ? 'reported' : 'not seen');
    const hooked = await execLoop(control);
    report(
      'exec loop under the hooks',
      true,
      `50 execs ${bare.toFixed(2)} s bare, ${hooked.toFixed(2)} s with the exec, exit and cred breakpoints (${(hooked / bare).toFixed(1)}×)`,
    );
    monitor.kill('SIGINT');
    const code = await exited;
    const alive = (await control.run('echo alive')).output.includes('alive');
    report(
      'detach',
      code === 0 && stderr.includes('detached; the guest runs on') && alive,
      `exit ${code}, guest ${alive ? 'running' : 'not answering'}`,
    );
  } finally {
    monitor.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  if (accelerator === 'kvm')
    try {
      accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    } catch (error) {
      process.stderr.write(
        `kvm-check: /dev/kvm is not usable here (${(error as Error).message})\n`,
      );
      process.exit(2);
    }
  process.stdout.write(
    `kvm-check: the sample guest under ${accelerator}, plain -m RAM, QMP only\n`,
  );
  let guest: RunningGuest;
  try {
    guest = await startSampleGuest({ name: NAME, plain: true, accelerator });
  } catch (error) {
    process.stderr.write(
      `kvm-check: the guest did not start under ${accelerator}: ${(error as Error).message}\n`,
    );
    process.exit(2);
  }
  const control = await guest.control();
  try {
    await checks(guest, control);
  } finally {
    control.close();
    await guest.stop();
  }
  process.stdout.write(
    failures === 0 ? 'kvm-check: all passed\n' : `kvm-check: ${failures} failed\n`,
  );
  process.exit(failures === 0 ? 0 : 1);
}

await main();
