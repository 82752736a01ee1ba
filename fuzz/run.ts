// `npm run fuzz -- [--dump FILE] [--cases N] [--minutes M] [--seed S] [--only I,J] [--out FILE]`:
// a long fuzz campaign on a dump of the sample guest (taken now when no --dump is given), printing
// progress and, at the end, cases, crashes and hangs as JSON (to --out as well).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCampaign } from './campaign.js';
import { takeSampleDump } from './sample-dump.js';

const { values } = parseArgs({
  options: {
    dump: { type: 'string' },
    cases: { type: 'string', default: '100000' },
    minutes: { type: 'string' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    only: { type: 'string' },
    out: { type: 'string' },
  },
});

const workDir = mkdtempSync(join(process.env['RINGSIDE_FUZZ_DIR'] ?? tmpdir(), 'ringside-fuzz-'));
try {
  const dump = values.dump ?? (await takeSampleDump(workDir, 'fuzz')).path;
  const seed = Number(values.seed);
  const started = Date.now();
  const summary = await runCampaign({
    dump,
    workDir,
    seed,
    cases: Number(values.cases),
    ...(values.minutes ? { timeLimitMs: Number(values.minutes) * 60_000 } : {}),
    ...(values.only ? { only: values.only.split(',').map(Number) } : {}),
    onCase: (done, partial) => {
      if (done % 500 === 0)
        process.stderr.write(
          `${done} cases in ${((Date.now() - started) / 1000).toFixed(0)} s: ${partial.crashes.length} crashes, ${partial.hangs.length} hangs, slowest ${partial.slowestCpuMs.toFixed(0)} ms CPU\n`,
        );
    },
  });
  const report = JSON.stringify({ seed, ...summary }, null, 2);
  if (values.out) writeFileSync(values.out, report);
  process.stdout.write(`${report}\n`);
  process.exitCode = summary.crashes.length + summary.hangs.length > 0 ? 1 : 0;
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
