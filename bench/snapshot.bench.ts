// Snapshot benchmarks (issue: forensic snapshots): the whole `ringside snapshot pslist --json` and
// `snapshot check` commands from a cold process on a 256 MiB dump of the sample guest (check: with
// issue 14's detectors and inline-hook scan against without them, in one run), and physical read
// throughput from the snapshot against plain reads of the same file.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openSnapshot } from '../introspect/backends/snapshot/index.js';
import { judgeSnapshot, loadRules, openDomain, openGuestKernel } from '../pipeline/index.js';
import { DETECTORS } from '../plugins/index.js';
import { createKernelIntegrity } from '../plugins/kernel-integrity/index.js';
import { startSampleGuest } from '../lab/guest/launch.js';
import { cacheRoot } from '../lab/guest/paths.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'cli', 'main.js');
/** Volatility 3 linux.pslist on a 256 MiB dump of this guest, warm cache (shared/anchors/README.md). */
const VOLATILITY_PSLIST_SECONDS = Number(process.env.VOLATILITY_PSLIST_SECONDS ?? 8.3);

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

async function benchDump(): Promise<string> {
  const path = process.env.RINGSIDE_BENCH_DUMP ?? join(cacheRoot(), 'snapshots', 'bench-256m.elf');
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  process.stdout.write(`booting the sample guest for ${path}…\n`);
  const guest = await startSampleGuest({ name: 'bench' });
  try {
    await guest.snapshot(path);
  } finally {
    await guest.stop();
  }
  return path;
}

function benchPslist(dump: string): void {
  const runs: number[] = [];
  spawnSync(process.execPath, [cli, 'snapshot', 'pslist', '--json', dump]); // warm the page cache
  for (let run = 0; run < 7; run++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(process.execPath, [cli, 'snapshot', 'pslist', '--json', dump], {
      encoding: 'utf8',
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) throw new Error(`pslist failed: ${result.stderr}`);
    runs.push(seconds);
  }
  const tasks = (
    JSON.parse(
      spawnSync(process.execPath, [cli, 'snapshot', 'pslist', '--json', dump], { encoding: 'utf8' })
        .stdout,
    ) as unknown[]
  ).length;
  const wall = median(runs);
  process.stdout.write(
    `pslist --json, whole command, cold process: median ${(wall * 1000).toFixed(0)} ms of ${runs.length} (min ${(Math.min(...runs) * 1000).toFixed(0)} ms, max ${(Math.max(...runs) * 1000).toFixed(0)} ms), ${tasks} tasks — target < 400 ms: ${wall < 0.4 ? 'met' : 'MISSED'}\n`,
  );
  process.stdout.write(
    `  vs Volatility 3 linux.pslist ${VOLATILITY_PSLIST_SECONDS} s on the same kind of dump: ${(VOLATILITY_PSLIST_SECONDS / wall).toFixed(1)}× faster (goal ≥ 20×)\n`,
  );
  const bare: number[] = [];
  for (let run = 0; run < 5; run++) {
    const started = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0']);
    bare.push(Number(process.hrtime.bigint() - started) / 1e9);
  }
  process.stdout.write(
    `  (of which starting a bare Node process: ${(median(bare) * 1000).toFixed(0)} ms)\n`,
  );
}

function benchReads(dump: string): void {
  const snapshot = openSnapshot(dump);
  const ranges = snapshot.memory.ranges();
  const ram = ranges.reduce((best, range) =>
    range.end - range.start > best.end - best.start ? range : best,
  );
  const size = Number(ram.end - ram.start);
  const chunk = Buffer.allocUnsafe(1 << 20);

  // Plain sequential reads of the same file, 1 MiB at a time (page cache warm after the first pass).
  const fd = openSync(dump, 'r');
  const fileSize = statSync(dump).size;
  const plainPass = (): number => {
    const started = process.hrtime.bigint();
    for (let offset = 0; offset < fileSize; offset += chunk.length)
      readSync(fd, chunk, 0, chunk.length, offset);
    return fileSize / (Number(process.hrtime.bigint() - started) / 1e9);
  };
  const snapshotPass = (): number => {
    const started = process.hrtime.bigint();
    for (let offset = 0; offset < size; offset += chunk.length)
      snapshot.memory.readInto(
        ram.start + BigInt(offset),
        chunk.subarray(0, Math.min(chunk.length, size - offset)),
      );
    return size / (Number(process.hrtime.bigint() - started) / 1e9);
  };
  plainPass();
  snapshotPass();
  const plain = median([plainPass(), plainPass(), plainPass()]);
  const ours = median([snapshotPass(), snapshotPass(), snapshotPass()]);
  closeSync(fd);
  process.stdout.write(
    `sequential physical reads: ${(ours / 1e9).toFixed(2)} GB/s vs plain file reads ${(plain / 1e9).toFixed(2)} GB/s = ${((ours / plain) * 100).toFixed(0)}% (target ≥ 50%)\n`,
  );

  // Random 4 KiB reads anywhere in RAM.
  const page = new Uint8Array(4096);
  const pages = size / 4096;
  const count = 200_000;
  const addresses = new Float64Array(count);
  let seed = 12345;
  for (let index = 0; index < count; index++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; // exact 32-bit LCG (a float product loses bits)
    addresses[index] = ((seed >>> 8) % pages) * 4096;
  }
  for (let index = 0; index < 10_000; index++)
    snapshot.memory.readInto(ram.start + BigInt(addresses[index]!), page);
  const started = process.hrtime.bigint();
  for (let index = 0; index < count; index++)
    snapshot.memory.readInto(ram.start + BigInt(addresses[index]!), page);
  const each = Number(process.hrtime.bigint() - started) / 1e3 / count;
  process.stdout.write(
    `random 4 KiB physical reads: ${each.toFixed(2)} µs each over ${count} reads (target ≤ 2 µs)\n`,
  );
  snapshot.close();
}

/**
 * One whole CLI command in a cold process: its wall time and CPU time (user + system of the child,
 * from bash's `times`), which a machine shared with other work inflates far less than wall time.
 */
function timedCommand(args: string[]): { wall: number; cpu: number; status: number | null } {
  const started = process.hrtime.bigint();
  const result = spawnSync(
    'bash',
    [
      '-c',
      '"$@" >/dev/null 2>&1; status=$?; times; exit $status',
      'timed',
      process.execPath,
      cli,
      ...args,
    ],
    { encoding: 'utf8' },
  );
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  // `times` prints the shell's user/system times, then its children's: "0m1.170s 0m0.490s".
  const children = result.stdout.trim().split('\n').at(-1) ?? '';
  const cpu = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
    (sum, [, minutes, seconds]) => sum + Number(minutes) * 60 + Number(seconds),
    0,
  );
  return { wall, cpu, status: result.status };
}

/** The whole `snapshot check` command, then judging in-process with and without issue 14's parts. */
async function benchCheck(dump: string): Promise<void> {
  const runs: { wall: number; cpu: number }[] = [];
  timedCommand(['snapshot', 'check', dump]); // warm the page cache
  for (let run = 0; run < 7; run++) {
    const { wall, cpu, status } = timedCommand(['snapshot', 'check', dump]);
    if (status !== 0) throw new Error(`check failed (exit ${status})`);
    runs.push({ wall, cpu });
  }
  const wall = median(runs.map((run) => run.wall));
  const cpu = median(runs.map((run) => run.cpu));
  const version = median(Array.from({ length: 5 }, () => timedCommand(['--version']).cpu));
  process.stdout.write(
    `snapshot check, whole command, cold process: median wall ${(wall * 1000).toFixed(0)} ms of ${runs.length} (min ${(Math.min(...runs.map((run) => run.wall)) * 1000).toFixed(0)} ms), CPU ${(cpu * 1000).toFixed(0)} ms — target ≤ 500 ms: wall ${(wall / 0.5).toFixed(2)}×, CPU ${(cpu / 0.5).toFixed(2)}× the target (${wall <= 0.5 ? 'met' : 'MISSED'})\n`,
  );
  process.stdout.write(
    `  (of which loading the CLI, \`ringside --version\`: CPU ${(version * 1000).toFixed(0)} ms)\n`,
  );
  // In one process: the detectors of before issue 14 (no inline-hook scan, no process scans)
  // against all of them, alternating, on one opened kernel (its caches warm for both).
  const opened = await openDomain({ kind: 'snapshot', path: dump, name: 'bench' });
  try {
    const kernel = openGuestKernel(opened);
    const rules = await loadRules();
    const fresh = new Set(['injection', 'escape', 'masquerade', 'integrity']);
    const before = [
      ...Object.entries(DETECTORS)
        .filter(([name]) => !fresh.has(name))
        .map(([, plugin]) => plugin),
      createKernelIntegrity({ inlineHooks: false }),
    ];
    const after = Object.values(DETECTORS);
    // Wall time, and CPU time (user + system), which a busy machine inflates less.
    const judge = async (plugins: typeof after): Promise<[number, number]> => {
      const started = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      await judgeSnapshot({ kernel, name: 'bench', plugins, rules });
      const used = process.cpuUsage(cpu);
      return [Number(process.hrtime.bigint() - started) / 1e6, (used.user + used.system) / 1e3];
    };
    await judge(after);
    const timesBefore: [number, number][] = [];
    const timesAfter: [number, number][] = [];
    for (let run = 0; run < 7; run++) {
      timesBefore.push(await judge(before));
      timesAfter.push(await judge(after));
    }
    const wallBefore = median(timesBefore.map(([wall]) => wall));
    const wallAfter = median(timesAfter.map(([wall]) => wall));
    const cpuBefore = median(timesBefore.map(([, cpu]) => cpu));
    const cpuAfter = median(timesAfter.map(([, cpu]) => cpu));
    process.stdout.write(
      `  judging in-process, before issue 14's detectors → with them (inline hooks, code injection, namespace escape, kernel-thread masquerade): wall ${wallBefore.toFixed(1)} → ${wallAfter.toFixed(1)} ms (${(wallAfter / wallBefore).toFixed(2)}×), CPU ${cpuBefore.toFixed(1)} → ${cpuAfter.toFixed(1)} ms (+${(cpuAfter - cpuBefore).toFixed(1)} ms)\n`,
    );
  } finally {
    await opened.domain.close();
  }
}

const dump = await benchDump();
benchPslist(dump);
await benchCheck(dump);
benchReads(dump);
