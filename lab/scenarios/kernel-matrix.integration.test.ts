// The kernel matrix: a clean sample guest on Debian's 6.12 cloud kernel (bookworm-backports), watched
// live by every detector through the starter rules and then judged on a snapshot, raises no finding.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startSampleGuest, type RunningGuest } from '../guest/launch.js';
import { cacheRoot } from '../guest/paths.js';
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
    } finally {
      rmSync(path, { force: true });
    }
  }, 120_000);
});
