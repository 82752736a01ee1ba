// ARM64 snapshot benchmark (issue 9): the whole `ringside snapshot pslist --json` command from a cold
// process on a 256 MiB ELF core of the ARM64 sample guest, and on its raw dump (RAM base given, and
// found by retrying). The target is the x86-64 one: ≤ 0.4 s on the ELF core.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSampleGuest } from '../samples/guest/launch.js';
import { cacheRoot } from '../samples/guest/paths.js';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', 'cli', 'main.js');

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

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

const { elf, raw } = await benchDumps();
pslist('ARM64 ELF core', [elf], 0.4);
pslist('ARM64 raw dump, --ram-base 0x40000000', [raw, '--ram-base', '0x40000000']);
pslist('ARM64 raw dump, RAM base found', [raw]);
