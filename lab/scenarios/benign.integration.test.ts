// A benign, busy guest (shells, many short processes, users switching, no modules) watched by every
// detector for several minutes must raise no finding at all.
import { runSuite } from './suite.js';
import { collectingSink } from './test-support/collecting-sink.js';

const BENIGN_MS = Number(process.env.RINGSIDE_BENIGN_MS ?? 180_000);

it(
  `a benign workload raises no finding over ${BENIGN_MS / 1000} s`,
  async () => {
    const { sink, lines } = collectingSink();
    const report = await runSuite({ sink, benignMs: BENIGN_MS, name: 'it-benign' });
    expect(
      report.background.map(
        (finding) =>
          `${finding.rule.id}: ${finding.message} ${JSON.stringify(finding.events.at(-1)?.details ?? {})}`,
      ),
    ).toEqual([]);
    expect(lines).toEqual([]);
  },
  BENIGN_MS + 300_000,
);
