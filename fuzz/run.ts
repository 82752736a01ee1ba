// `npm run fuzz -- [--state FILE] [--dump FILE] [--cases N] [--minutes M] [--seed S] [--only I,J]
// [--out FILE]`: a long fuzz campaign on a dump of the sample guest, resumable through its state file,
// printing progress and, at the end, cases, crashes and hangs as JSON (to --out as well).
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCampaign } from './campaign.js';
import { takeSampleDump } from './sample-dump.js';
import { loadFuzzState, saveFuzzState } from './state.js';
import type { FuzzState } from './state.js';

const { values } = parseArgs({
  options: {
    state: { type: 'string' },
    dump: { type: 'string' },
    cases: { type: 'string', default: '100000' },
    minutes: { type: 'string' },
    seed: { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string' },
  },
});

/** Saving after every case would cost a write per case; this many cases at most are run again. */
const SAVE_EVERY = 20;

const workDir = mkdtempSync(join(process.env['RINGSIDE_FUZZ_DIR'] ?? tmpdir(), 'ringside-fuzz-'));
try {
  const statePath = values.only ? undefined : values.state;
  const saved = statePath ? loadFuzzState(statePath) : undefined;
  if (saved && !existsSync(saved.dump))
    throw new Error(`${statePath}: its dump ${saved.dump} is gone; remove the state to start anew`);
  let dump = saved?.dump ?? values.dump;
  if (!dump) {
    dump = (await takeSampleDump(workDir, 'fuzz')).path;
    if (statePath) {
      // A resumed campaign must mutate the very same dump: keep it beside the state.
      copyFileSync(dump, `${statePath}.dump.elf`);
      dump = `${statePath}.dump.elf`;
    }
  }
  const seed = saved?.seed ?? Number(values.seed ?? Date.now() % 1_000_000);
  if (saved)
    process.stderr.write(
      `resuming ${statePath}: seed ${seed}, ${saved.summary.cases} cases done, from case ${saved.nextIndex}\n`,
    );
  const state: FuzzState | undefined = statePath
    ? (saved ?? {
        version: 1,
        seed,
        dump,
        nextIndex: 0,
        summary: {
          cases: 0,
          crashes: [],
          hangs: [],
          outcomes: {},
          slowestCpuMs: 0,
          elapsedMs: 0,
        },
      })
    : undefined;
  const started = Date.now();
  const summary = await runCampaign({
    dump,
    workDir,
    seed,
    cases: Number(values.cases),
    ...(values.minutes ? { timeLimitMs: Number(values.minutes) * 60_000 } : {}),
    ...(values.only ? { only: values.only.split(',').map(Number) } : {}),
    ...(state ? { firstIndex: state.nextIndex, previous: state.summary } : {}),
    onCase: (done, partial, index) => {
      if (state && statePath && (done % SAVE_EVERY === 0 || index + 1 === Number(values.cases)))
        saveFuzzState(statePath, { ...state, nextIndex: index + 1, summary: partial });
      if (done % 500 === 0)
        process.stderr.write(
          `${done} cases (${((Date.now() - started) / 1000).toFixed(0)} s this run): ${partial.crashes.length} crashes, ${partial.hangs.length} hangs, slowest ${partial.slowestCpuMs.toFixed(0)} ms CPU\n`,
        );
    },
  });
  if (state && statePath)
    saveFuzzState(statePath, {
      ...state,
      nextIndex: state.nextIndex + summary.cases - state.summary.cases,
      summary,
    });
  const report = JSON.stringify({ seed, ...summary }, null, 2);
  if (values.out) writeFileSync(values.out, report);
  process.stdout.write(`${report}\n`);
  process.exitCode = summary.crashes.length + summary.hangs.length > 0 ? 1 : 0;
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
