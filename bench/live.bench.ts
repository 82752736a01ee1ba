// Live QEMU benchmarks (issue: live introspection): hook round trip with 1 and 2 vCPUs, guest
// slowdown on a fork/exec loop (no plugin, plugin idle, exec monitor, a write trap on a hot frame),
// a consistent live process list, and live reads against a C memcpy of the same RAM file.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QemuDomain } from '../introspect/backends/qemu/qemu-domain.js';
import { RamFileMemory } from '../introspect/backends/qemu/ram-file-memory.js';
import { openLiveKernel } from '../introspect/os/linux/live-kernel.js';
import { listTasks } from '../introspect/os/linux/tasks.js';
import { execMonitor } from '../plugins/exec-monitor/index.js';
import type { RunningGuest } from '../lab/guest/launch.js';
import { guestLoopSeconds, median, say, withGuest } from './support/guest.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
async function attach(guest: RunningGuest) {
  const domain = await QemuDomain.attach({
    name: guest.name,
    pluginSocket: guest.endpoints.pluginSocket!,
    ramFile: guest.endpoints.ramFile,
    qmp: await guest.qmp(),
  });
  return { domain, kernel: openLiveKernel(domain) };
}

async function roundTrip(vcpus: number): Promise<void> {
  await withGuest(`bench-rt${vcpus}`, vcpus, true, async (guest) => {
    const { domain, kernel } = await attach(guest);
    const subscription = domain
      .hook({ kind: 'exec', address: kernel.symbols.address('bprm_execve')! })
      .subscribe(() => undefined);
    await domain.synced();
    await guestLoopSeconds(guest, 1);
    const stats = await domain.stats();
    say(
      `hook round trip, ${vcpus} vCPU${vcpus > 1 ? 's' : ''}, empty handler: median ${(Number(stats.holdNanosMedian) / 1000).toFixed(1)} µs, mean ${(Number(stats.holdNanosTotal) / Number(stats.hits) / 1000).toFixed(1)} µs, max ${(Number(stats.holdNanosMax) / 1000).toFixed(0)} µs over ${stats.hits} hits (target median ≤ 50 µs)`,
    );
    subscription.unsubscribe();
    await domain.close();
  });
}

async function slowdown(): Promise<void> {
  const bare = await withGuest('bench-bare', 2, false, (guest) => guestLoopSeconds(guest));
  say(`fork/exec loop (300 × /bin/true), inside the guest: no plugin ${bare.toFixed(2)} s`);
  await withGuest('bench-slow', 2, true, async (guest) => {
    const idle = await guestLoopSeconds(guest);
    say(`  plugin loaded, nothing hooked: ${idle.toFixed(2)} s (${(idle / bare).toFixed(2)}×)`);
    const { domain, kernel } = await attach(guest);
    const exec = execMonitor.start({ domain, kernel }).subscribe(() => undefined);
    await domain.synced();
    const hooked = await guestLoopSeconds(guest);
    say(
      `  exec monitor attached (every exec read from kernel structures): ${hooked.toFixed(2)} s (${(hooked / bare).toFixed(2)}×; target ≤ 1.1×)`,
    );
    const hits = (await domain.stats()).holdNanosMedian;
    say(`  exec monitor hold per hit: median ${(Number(hits) / 1000).toFixed(0)} µs`);
    exec.unsubscribe();
    const jiffies = kernel.reader.space.translate(kernel.symbols.address('jiffies_64')!);
    if (jiffies.ok) {
      const trap = domain
        .hook({ kind: 'memory', frame: jiffies.physical >> 12n, access: { w: true } })
        .subscribe(() => undefined);
      await domain.synced();
      const trapped = await guestLoopSeconds(guest);
      say(
        `  write trap armed on the jiffies frame (every guest load/store filtered in C): ${trapped.toFixed(2)} s (${(trapped / bare).toFixed(2)}×)`,
      );
      trap.unsubscribe();
    }
    await domain.synced();
    const before = (await domain.stats()).flushes;
    const started = performance.now();
    for (let change = 0; change < 10; change++) {
      const subscription = domain
        .hook({ kind: 'exec', address: kernel.symbols.address('bprm_execve')! })
        .subscribe();
      await domain.synced();
      subscription.unsubscribe();
      await domain.synced();
    }
    const flushes = (await domain.stats()).flushes - before;
    say(
      `  changing the hook set: ${((performance.now() - started) / 20).toFixed(1)} ms per change until in effect (${flushes} flushes of translated code for 20 changes)`,
    );
    await domain.close();
  });
}

async function liveProcessList(): Promise<void> {
  await withGuest('bench-ps', 2, true, async (guest) => {
    const memory = new RamFileMemory(guest.endpoints.ramFile);
    const qmp = await guest.qmp();
    const { openLinuxKernel } = await import('../introspect/os/linux/linux-kernel.js');
    const kernel = openLinuxKernel(memory, []);
    const walks: number[] = [];
    const totals: number[] = [];
    let count = 0;
    for (let run = 0; run < 21; run++) {
      const started = performance.now();
      await qmp.execute('stop');
      const walked = performance.now();
      kernel.newGeneration();
      count = listTasks(kernel).tasks.length;
      walks.push(performance.now() - walked);
      await qmp.execute('cont');
      totals.push(performance.now() - started);
    }
    say(
      `consistent live process list (${count} tasks): walk ${median(walks).toFixed(2)} ms median with the guest paused; stop + walk + cont ${median(totals).toFixed(2)} ms (target ≤ 1 ms)`,
    );

    const chunk = new Uint8Array(1 << 20);
    const ranges = memory.ranges();
    const size = Number(ranges[0]!.end);
    const pass = (): number => {
      const started = process.hrtime.bigint();
      for (let offset = 0; offset < size; offset += chunk.length)
        memory.readInto(BigInt(offset), chunk.subarray(0, Math.min(chunk.length, size - offset)));
      return size / (Number(process.hrtime.bigint() - started) / 1e9);
    };
    pass();
    const ours = Math.max(pass(), pass(), pass());
    const dir = mkdtempSync(join(tmpdir(), 'ringside-bench-'));
    let memcpy = 0;
    try {
      const binary = join(dir, 'memcpy-bench');
      execFileSync('gcc', ['-O2', '-o', binary, join(repo, 'bench', 'support', 'memcpy-bench.c')]);
      memcpy = Number(execFileSync(binary, [guest.endpoints.ramFile], { encoding: 'utf8' }).trim());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    say(
      `live sequential reads: ${(ours / 1e9).toFixed(2)} GB/s vs C memcpy from the mmapped file ${(memcpy / 1e9).toFixed(2)} GB/s = ${((ours / memcpy) * 100).toFixed(0)}% (target ≥ 50%)`,
    );
    const page = new Uint8Array(4096);
    const pages = size / 4096;
    let seed = 7;
    const reads = 200_000;
    const started = process.hrtime.bigint();
    for (let index = 0; index < reads; index++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; // exact 32-bit LCG (a float product loses bits)
      memory.readInto(BigInt(((seed >>> 8) % pages) * 4096), page);
    }
    say(
      `live random 4 KiB reads: ${(Number(process.hrtime.bigint() - started) / 1e3 / reads).toFixed(2)} µs each (target ≤ 2 µs)`,
    );
    qmp.close();
    memory.close();
  });
}

await roundTrip(1);
await roundTrip(2);
await slowdown();
await liveProcessList();
