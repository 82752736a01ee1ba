// The kernel matrix: a clean sample guest on Debian's 6.12 cloud kernel (bookworm-backports), watched
// live by every detector through the starter rules and then judged on a snapshot, raises no finding —
// with the kernel-object detectors (hidden modules, function hooks, eBPF) shown to have judged it.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startSampleGuest, type RunningGuest } from '../guest/launch.js';
import { cacheRoot } from '../guest/paths.js';
import { moduleCrossView, type ModuleSighting } from '../../introspect/os/linux/module-views.js';
import { openDomain, openGuestKernel } from '../../pipeline/index.js';
import { chooseDetectors, judgeWithDetectors } from '../../plugins/index.js';
import { loadSampleRules, runSuite, snapshotFindings, type SuiteReport } from './suite.js';
import { collectingSink } from './test-support/collecting-sink.js';

/** The benign phase: 30 s by default (RINGSIDE_BENIGN_MS=180000 for the 3-minute run). */
const BENIGN_MS = Number(process.env.RINGSIDE_BENIGN_MS ?? 30_000);
const NAME = 'detect-k612';

let guest: RunningGuest;
let report: SuiteReport;
const { sink, lines } = collectingSink();

beforeAll(async () => {
  guest = await startSampleGuest({ name: NAME, kernel: '6.12' });
  report = await runSuite({ sink, guest, benignMs: BENIGN_MS });
}, 600_000);

afterAll(async () => {
  await guest?.stop();
});

/** How the kernel-object detectors fared on a snapshot, and what the module cross-view saw. */
async function judgedKernelObjects(path: string) {
  const opened = await openDomain({ kind: 'snapshot', path, name: NAME });
  try {
    const kernel = openGuestKernel(opened);
    const { outcomes } = await judgeWithDetectors(chooseDetectors(['modhide', 'hooks', 'bpf']), {
      kernel,
      domain: NAME,
      cpus: [],
      timestamp: new Date().toISOString(),
    });
    const view = moduleCrossView(kernel);
    const seen = (sighting: ModuleSighting) =>
      `${sighting.module?.name} ${Object.entries(sighting.views)
        .filter(([, yes]) => yes)
        .map(([name]) => name)
        .join(',')}`;
    return { outcomes, views: view.available, modules: view.modules.map(seen) };
  } finally {
    await opened.domain.close();
  }
}

const describeFindings = (findings: SuiteReport['background']) =>
  findings.map(
    (finding) =>
      `${finding.rule.id}: ${finding.message} ${JSON.stringify(finding.events.at(-1)?.details ?? {}, (_key, value: unknown) => (typeof value === 'bigint' ? `0x${value.toString(16)}` : value))}`,
  );

describe('a clean guest on the 6.12 kernel', () => {
  it('is the 6.12 kernel', () => {
    expect(report.kernel).toMatch(/^6\.12\./);
    expect(guest.view.release).toBe(report.kernel);
  });

  it(`raises no finding live over ${BENIGN_MS / 1000} s of a benign workload`, () => {
    expect(describeFindings(report.background)).toEqual([]);
    expect(lines).toEqual([]);
  });

  it('raises no finding on a snapshot', async () => {
    const dir = join(cacheRoot(), 'snapshots');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${NAME}.elf`);
    try {
      await guest.snapshot(path);
      const findings = await snapshotFindings(path, await loadSampleRules(), NAME);
      expect(describeFindings(findings)).toEqual([]);
      // Silence that means something: the kernel-object detectors judged this kernel, and their
      // views see the guest's modules (dummy, nls_utf8, loop) in the module list, mod_tree and sysfs.
      const judged = await judgedKernelObjects(path);
      expect(judged.outcomes).toEqual({
        'hidden-module': 'judged',
        'function-hooks': 'judged',
        'bpf-programs': 'judged',
      });
      expect(judged.views).toEqual(['list', 'modTree', 'kobjects']);
      expect(judged.modules).toEqual(
        expect.arrayContaining([
          'dummy list,modTree,kobjects',
          'loop list,modTree,kobjects',
          'nls_utf8 list,modTree,kobjects',
        ]),
      );
    } finally {
      rmSync(path, { force: true });
    }
  }, 120_000);
});
