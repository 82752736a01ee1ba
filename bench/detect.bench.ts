// Detector benchmarks (issue: detectors and scenarios): time from each attack step in the guest to
// its finding leaving the sink, over every scenario; and the guest's slowdown on a busy workload
// with every detector attached, against the same guest without Ringside's plugin.
import { Writable } from 'node:stream';
import { QemuDomain } from '../introspect/backends/qemu/qemu-domain.js';
import { openLiveKernel } from '../introspect/os/linux/live-kernel.js';
import { liveFindings } from '../pipeline/index.js';
import { chooseDetectors, DETECTOR_NAMES } from '../plugins/index.js';
import { loadSampleRules, runSuite } from '../lab/scenarios/suite.js';
import { createStdoutSink } from '../sinks/stdout/sink.js';
import { guestLoopSeconds, median, say, withGuest } from './support/guest.js';

/** Busy: fork/exec, shells, file writes in /tmp and a user switch per round. */
const BUSY =
  "time sh -c 'for i in $(seq 100); do /bin/true; echo $i >/tmp/b.$i; cat /tmp/b.$i >/dev/null; rm /tmp/b.$i; done; su -s /bin/sh app -c true'";

const discard = () =>
  createStdoutSink({
    observer: { hostname: 'bench', version: 'bench' },
    stream: new Writable({ write: (_chunk, _encoding, done) => done() }),
  });

async function timeToDetect(): Promise<void> {
  const report = await runSuite({ sink: discard(), snapshots: false, name: 'bench-scenarios' });
  const all: number[] = [];
  for (const scenario of report.scenarios) {
    all.push(...scenario.latenciesMs);
    say(
      `  ${scenario.scenario.padEnd(22)} ${scenario.latenciesMs.length} finding(s), step → sink median ${scenario.latenciesMs.length ? median(scenario.latenciesMs).toFixed(2) : '-'} ms, max ${scenario.latenciesMs.length ? Math.max(...scenario.latenciesMs).toFixed(1) : '-'} ms; run.sh sent → first finding ${scenario.timeToDetectMs?.toFixed(0) ?? '-'} ms`,
    );
  }
  say(
    `time to detect, all ${all.length} live findings: median ${median(all).toFixed(2)} ms (target ≤ 50 ms); hook-driven only: median ${median(all.filter((ms) => ms < 900)).toFixed(2)} ms`,
  );
}

async function slowdown(): Promise<void> {
  const bare = await withGuest('bench-detect-bare', 2, false, (guest) =>
    guestLoopSeconds(guest, 3, BUSY),
  );
  say(`busy workload inside the guest: no plugin ${bare.toFixed(2)} s`);
  await withGuest('bench-detect', 2, true, async (guest) => {
    const domain = await QemuDomain.attach({
      name: guest.name,
      pluginSocket: guest.endpoints.pluginSocket!,
      ramFile: guest.endpoints.ramFile,
      qmp: await guest.qmp(),
    });
    const kernel = openLiveKernel(domain);
    const rules = await loadSampleRules();
    const measure = async (names: readonly string[], label: string, target = ''): Promise<void> => {
      let findings = 0;
      const before = await domain.stats();
      const subscription = liveFindings({
        domain,
        kernel,
        plugins: chooseDetectors(names),
        rules,
      }).subscribe(() => (findings += 1));
      await domain.synced();
      const watched = await guestLoopSeconds(guest, 3, BUSY);
      const after = await domain.stats();
      subscription.unsubscribe();
      await domain.synced();
      say(
        `  ${label}: ${watched.toFixed(2)} s (${(watched / bare).toFixed(2)}×${target}), ${after.hits - before.hits} hook hits (hold median ${(Number(after.holdNanosMedian) / 1000).toFixed(0)} µs), ${findings} finding(s)`,
      );
    };
    const only = process.env.RINGSIDE_BENCH_DETECTORS;
    if (only) {
      await measure(only.split(','), only);
    } else {
      await measure(
        DETECTOR_NAMES,
        `every detector (${DETECTOR_NAMES.join(', ')})`,
        '; target ≤ 1.2×',
      );
      for (const name of DETECTOR_NAMES) await measure([name], `${name} alone`);
    }
    await domain.close();
  });
}

if (!process.env.RINGSIDE_BENCH_DETECTORS) await timeToDetect();
await slowdown();
