// Response actions on the live sample guest, held hits going through the hit ring: the
// rootkit-syscall-hook scenario with `restore` on the syscall-table rule (the table reads back
// intact, the module itself sees the original entry, the periodic check finds nothing) and
// `snapshot` on the module-load rule (the dump's sha256); then a handler that never answers, which
// the plugin outlives (timeout, counted) instead of holding the guest for good.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Subscription } from 'rxjs';
import { QemuDomain } from '../../introspect/backends/qemu/qemu-domain.js';
import type { Finding } from '../../introspect/events/finding.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import type { GuestControl } from '../../lab/guest/control.js';
import { startSampleGuest, type RunningGuest } from '../../lab/guest/launch.js';
import { sampleRulesDir } from '../../lab/scenarios/paths.js';
import { runScenario } from '../../lab/scenarios/scenarios.js';
import { chooseDetectors, DETECTOR_NAMES } from '../../plugins/index.js';
import { liveFindings, loadRules, openDomain, openGuestKernel } from '../index.js';
import type { ActionLogEntry } from './respond.js';

const ACTIONS = `
- rule: System call table written
  override: { actions: replace }
  actions: [restore]
- rule: Kernel module loaded
  override: { actions: replace }
  actions: [snapshot]
`;

const work = mkdtempSync(join(tmpdir(), 'respond-it-'));
let guest: RunningGuest;
let control: GuestControl;
let kernel: LinuxKernel;
let domain: QemuDomain;
let ringAttached = false;
let subscription: Subscription;
const findings: Finding[] = [];
const log: ActionLogEntry[] = [];
let failure: unknown;
let scenarioOutput = '';
const started = performance.now();

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  guest = await startSampleGuest({ name: 'respond-it' });
  console.log(
    `respond integration: guest up ${((performance.now() - started) / 1000).toFixed(1)} s in`,
  );
  control = await guest.control();
  writeFileSync(join(work, 'actions.yaml'), ACTIONS);
  const rules = await loadRules([sampleRulesDir(), join(work, 'actions.yaml')]);
  const opened = await openDomain({
    kind: 'qemu',
    name: guest.name,
    pluginSocket: guest.endpoints.pluginSocket!,
    ramFile: guest.endpoints.ramFile,
    qmp: await guest.qmp(),
  });
  domain = opened.domain as QemuDomain;
  ringAttached = await domain.useHitRing(true);
  kernel = openGuestKernel(opened.domain);
  subscription = liveFindings({
    domain: opened.domain,
    kernel,
    plugins: chooseDetectors(DETECTOR_NAMES),
    rules,
    response: { snapshotDir: work, log: (entry) => log.push(entry) },
  }).subscribe({ next: (finding) => findings.push(finding), error: (e) => (failure = e) });
  await opened.domain.synced();
  scenarioOutput = (await runScenario(control, 'rootkit-syscall-hook', 'run')).output;
  // The periodic integrity check runs every second: give it two.
  await settle(2500);
  console.log(
    `respond integration: scenario done ${((performance.now() - started) / 1000).toFixed(1)} s in`,
  );
}, 300_000);

afterAll(async () => {
  subscription?.unsubscribe();
  await runScenario(control, 'rootkit-syscall-hook', 'cleanup').catch(() => undefined);
  await domain?.close();
  control?.close();
  await guest?.stop();
  rmSync(work, { recursive: true, force: true });
  console.log(`respond integration: ${((performance.now() - started) / 1000).toFixed(1)} s wall`);
});

const of = (rule: string) => findings.filter((finding) => finding.rule.id === rule);

describe('response actions on the live guest', () => {
  it('restores the hooked syscall entry before the guest goes on', () => {
    expect(failure).toBeUndefined();
    const [write] = of('lnx-syscall-table-write');
    expect(write?.events[0]?.vmi?.symbol).toBe('sys_call_table+0x6c8');
    expect(write!.actions).toEqual([
      {
        name: 'restore',
        ok: true,
        details: expect.objectContaining({ vcpu_held: true }) as object,
      },
    ]);
    // Read back from guest memory: entry 217 is getdents64's own handler again.
    kernel.newGeneration();
    const table = kernel.symbols.address('sys_call_table')!;
    expect(kernel.reader.u64(table + 217n * 8n)).toBe(
      kernel.symbols.address('__x64_sys_getdents64'),
    );
    // The module read the entry back right after its write: it saw the original.
    expect(scenarioOutput).toMatch(/^hook 217 entry __x64_sys_getdents64/m);
    // Nothing for the periodic check to find: the table matches what monitoring began with.
    expect(
      of('lnx-kernel-integrity-violation').filter(
        (finding) => finding.events[0]?.vmi?.symbol === 'sys_call_table+0x6c8',
      ),
    ).toEqual([]);
    expect(log.some((entry) => entry.action.name === 'restore' && entry.action.ok)).toBe(true);
  });

  it('sent the held hits through the hit ring', async () => {
    expect(ringAttached).toBe(true);
    const stats = await domain.stats();
    expect(stats.ringHits).toBeGreaterThan(0n);
    expect(stats.ringTimeouts).toBe(0n);
  });

  it('takes a forensic dump whose sha256 is the one in the finding', () => {
    const [loaded] = of('lnx-kernel-module-loaded');
    const [snapshot] = loaded!.actions!;
    expect(snapshot).toMatchObject({ name: 'snapshot', ok: true });
    const { path, sha256 } = snapshot!.details as { path: string; sha256: string };
    expect(createHash('sha256').update(readFileSync(path)).digest('hex')).toBe(sha256);
    expect(readFileSync(path).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
  });

  it('lets a vCPU go on when Ringside does not answer (timeout, counted), not hold the guest for good', async () => {
    subscription.unsubscribe();
    // The first hit is answered after the plugin's 5 s timeout (the guest goes on at 5 s); the
    // next, queued behind it in Ringside, is answered at once, so only one timeout is counted.
    let first = true;
    const hook = domain
      .hook({ kind: 'exec', address: kernel.symbols.address('bprm_execve')! })
      .subscribe((context) => {
        if (first) context.hold(new Promise((resolve) => setTimeout(resolve, 5500)));
        first = false;
      });
    await domain.synced();
    const before = await domain.stats();
    const begun = performance.now();
    const result = await control.run('/bin/true; echo ran', 30_000);
    const tookMs = performance.now() - begun;
    hook.unsubscribe();
    const after = await domain.stats();
    expect(result.output).toContain('ran');
    expect(after.ringTimeouts - before.ringTimeouts).toBe(1n);
    // The plugin's timeout (5 s by default), not forever.
    expect(tookMs).toBeGreaterThan(4000);
  }, 60_000);
});
