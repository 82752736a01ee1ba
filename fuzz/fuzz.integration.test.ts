// The bounded CI slice of the fuzz harness: a dump of the sample guest taken now, mutated case by case
// (seeded, replayable), every command's code run on each within a CPU budget: no crash, no hang.
// `npm run fuzz` runs the same campaign for long (10^5 cases by default).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCampaign } from './campaign.js';
import { takeSampleDump } from './sample-dump.js';

let dir: string;
let dump: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ringside-fuzz-it-'));
  dump = (await takeSampleDump(dir, 'fuzz')).path;
}, 240_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('mutated dumps of the sample guest give answers, partial answers or typed errors: never a crash or a hang', async () => {
  const summary = await runCampaign({
    dump,
    workDir: dir,
    seed: Number(process.env['RINGSIDE_FUZZ_SEED'] ?? 2026),
    cases: 5000,
    timeLimitMs: 100_000,
    cpuBudgetMs: 5000,
  });
  expect(summary.cases).toBeGreaterThan(50);
  expect(summary.crashes).toEqual([]);
  expect(summary.hangs).toEqual([]);
  // The mutations reach the walkers: some cases end in partial answers.
  expect(summary.outcomes['pslist']?.partial).toBeGreaterThan(0);
}, 300_000);
