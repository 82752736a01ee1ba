// ARM64 benchmarks (issue 9): the whole `ringside snapshot pslist --json` command from a cold process
// on a 256 MiB ELF core of the ARM64 sample guest and on its raw dump (RAM base given, and found by
// retrying) — the x86-64 target is ≤ 0.4 s on the ELF core — and, live, the hook round trip and the
// guest's slowdown under the exec monitor, as bench/live.bench.ts measures them on x86-64.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QemuDomain } from '../introspect/backends/qemu/qemu-domain.js';
import { openLiveKernel } from '../introspect/os/linux/live-kernel.js';
import { execMonitor } from '../plugins/exec-monitor/index.js';
import { startSampleGuest } from '../lab/guest/launch.js';
import { cacheRoot } from '../lab/guest/paths.js';
import { guestLoopSeconds, median } from './support/guest.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'cli', 'main.js');

async function benchDumps(): Promise<{ elf: string; raw: string }> {
  const directory = process.env.RINGSIDE_BENCH_DIR ?? join(cacheRoot(), 'snapshots');
  const elf = join(directory, 'bench-arm64-256m.elf');
  const raw = join(directory, 'bench-arm64-256m.raw');
  if (existsSync(elf) && existsSync(raw)) return { elf, raw };
  mkdirSync(directory, { recursive: true });
  process.stdout.write(`booting the ARM64 sample guest for ${elf} and ${raw}…\n`);
  const guest = await startSampleGuest({ name: 'bench-arm64', architecture: 'aarch64' });
  try {
    await guest.snapshot(elf);
    await guest.rawSnapshot(raw);
  } finally {
    await guest.stop();
  }
  return { elf, raw };
}

function pslist(label: string, args: string[], target?: number): void {
  const command = [cli, 'snapshot', 'pslist', '--json', ...args];
  spawnSync(process.execPath, command); // warm the page cache
  const runs: number[] = [];
  let tasks = 0;
  for (let run = 0; run < 7; run++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(process.execPath, command, { encoding: 'utf8' });
    runs.push(Number(process.hrtime.bigint() - started) / 1e9);
    if (result.status !== 0) throw new Error(`pslist failed: ${result.stderr}`);
    tasks = (JSON.parse(result.stdout) as unknown[]).length;
  }
  const wall = median(runs);
  const verdict =
    target === undefined
      ? ''
      : ` — target < ${target * 1000} ms: ${wall < target ? 'met' : 'MISSED'}`;
  process.stdout.write(
    `pslist --json, ${label}, whole command, cold process: median ${(wall * 1000).toFixed(0)} ms of ${runs.length} (min ${(Math.min(...runs) * 1000).toFixed(0)} ms, max ${(Math.max(...runs) * 1000).toFixed(0)} ms), ${tasks} tasks${verdict}\n`,
  );
}

async function live(): Promise<void> {
  const bare = await startSampleGuest({
    name: 'bench-arm64-bare',
    architecture: 'aarch64',
    plugin: false,
  });
  let bareSeconds: number;
  try {
    bareSeconds = await guestLoopSeconds(bare);
  } finally {
    await bare.stop();
  }
  process.stdout.write(
    `ARM64 fork/exec loop (300 × /bin/true), inside the guest: no plugin ${bareSeconds.toFixed(2)} s\n`,
  );
  const guest = await startSampleGuest({ name: 'bench-arm64-live', architecture: 'aarch64' });
  try {
    const idle = await guestLoopSeconds(guest);
    process.stdout.write(
      `  plugin loaded, nothing hooked: ${idle.toFixed(2)} s (${(idle / bareSeconds).toFixed(2)}×)\n`,
    );
    const domain = await QemuDomain.attach({
      name: guest.name,
      pluginSocket: guest.endpoints.pluginSocket!,
      ramFile: guest.endpoints.ramFile,
      ramBase: guest.ramBase,
      qmp: await guest.qmp(),
    });
    const kernel = openLiveKernel(domain, { architecture: 'aarch64' });
    const empty = domain
      .hook({ kind: 'exec', address: kernel.symbols.address('bprm_execve')! })
      .subscribe(() => undefined);
    await domain.synced();
    await guestLoopSeconds(guest, 1);
    const stats = await domain.stats();
    process.stdout.write(
      `  hook round trip, 2 vCPUs, empty handler: median ${(Number(stats.holdNanosMedian) / 1000).toFixed(1)} µs over ${stats.hits} hits (target median ≤ 50 µs)\n`,
    );
    empty.unsubscribe();
    const exec = execMonitor.start({ domain, kernel }).subscribe(() => undefined);
    await domain.synced();
    const hooked = await guestLoopSeconds(guest);
    process.stdout.write(
      `  exec monitor attached: ${hooked.toFixed(2)} s (${(hooked / bareSeconds).toFixed(2)}×; target ≤ 1.1×)\n`,
    );
    exec.unsubscribe();
    await domain.close();
  } finally {
    await guest.stop();
  }
}

const { elf, raw } = await benchDumps();
pslist('ARM64 ELF core', [elf], 0.4);
pslist('ARM64 raw dump, --ram-base 0x40000000', [raw, '--ram-base', '0x40000000']);
pslist('ARM64 raw dump, RAM base found', [raw]);
await live();
