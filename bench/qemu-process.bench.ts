// Any running QEMU through its process (issue 17): random 4 KiB and sequential guest-physical reads
// through /proc/PID/mem beside the shared-RAM-file backend on the same guest, a consistent `ps`
// (guest paused over QMP), and the cost of a hardware-breakpoint exec hook under TCG.
import { spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { QmpClient } from '../introspect/backends/qemu/qmp.js';
import { RamFileMemory } from '../introspect/backends/qemu/ram-file-memory.js';
import type { PhysicalMemory } from '../introspect/memory/types.js';
import { openProcessMemory } from '../introspect/backends/qemu-process/open-memory.js';
import { openQemuProcessDomain } from '../introspect/backends/qemu-process/open-domain.js';
import { qemuByPid } from '../introspect/backends/qemu-process/qemu-processes.js';
import { ProcessMemory } from '../introspect/backends/qemu-process/process-memory.js';
import { openLinuxKernel } from '../introspect/os/linux/linux-kernel.js';
import { openLiveKernel } from '../introspect/os/linux/live-kernel.js';
import { listTasks } from '../introspect/os/linux/tasks.js';
import { pausedTaskList, WARM_UP_WALKS } from '../introspect/os/linux/paused-task-list.js';
import { execMonitor } from '../plugins/exec-monitor/index.js';
import { startSampleGuest } from '../lab/guest/launch.js';
import { guestLoopSeconds, median, say } from './support/guest.js';

const PAGE = 4096;
const EXECS = "time sh -c 'for i in $(seq 50); do /bin/true; done'";

/** Wall and CPU time (this process's user + system, so the machine's other load is left out). */
interface Timed {
  wall: number;
  cpu: number;
}

function timed(work: () => void): Timed {
  const cpu0 = process.cpuUsage();
  const started = process.hrtime.bigint();
  work();
  const cpu = process.cpuUsage(cpu0);
  return { wall: Number(process.hrtime.bigint() - started) / 1000, cpu: cpu.user + cpu.system };
}

/** µs per random read (4 KiB, or `size`) over the first `bytes` of RAM (a fixed LCG: the same pages each run). */
function randomReads(memory: PhysicalMemory, bytes: number, count = 20_000, size = PAGE): Timed {
  const target = new Uint8Array(size);
  const pages = Math.floor(bytes / PAGE);
  let seed = 12345;
  const { wall, cpu } = timed(() => {
    for (let read = 0; read < count; read++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      memory.readInto(BigInt((seed % pages) * PAGE), target);
    }
  });
  return { wall: wall / count, cpu: cpu / count };
}

/** MB/s reading all of `bytes` in 1 MiB chunks, by the wall clock and by this process's CPU time. */
function sequential(memory: PhysicalMemory, bytes: number): Timed {
  const chunk = new Uint8Array(1 << 20);
  const { wall, cpu } = timed(() => {
    for (let offset = 0; offset + chunk.length <= bytes; offset += chunk.length)
      memory.readInto(BigInt(offset), chunk);
  });
  return { wall: bytes / wall, cpu: bytes / cpu };
}

/** Runs each reader in turn, five rounds (so load that comes and goes hits all alike); medians. */
function interleaved(
  readers: readonly PhysicalMemory[],
  measure: (memory: PhysicalMemory) => Timed,
): Timed[] {
  const rounds = readers.map(() => [] as Timed[]);
  for (let round = 0; round < 5; round++)
    readers.forEach((memory, index) => rounds[index]!.push(measure(memory)));
  return rounds.map((runs) => ({
    wall: median(runs.map((run) => run.wall)),
    cpu: median(runs.map((run) => run.cpu)),
  }));
}

const us = (value: number): string => `${value.toFixed(2)} µs`;

async function reads(): Promise<void> {
  // A guest with a shared RAM file: the same RAM through both backends, in the same run.
  const guest = await startSampleGuest({ name: 'qemuany-bench-ram', plugin: false });
  const qmp = await guest.qmp();
  try {
    const { memory } = await openProcessMemory(qemuByPid(guest.pid), qmp);
    const file = new RamFileMemory(guest.endpoints.ramFile);
    const filePread = new RamFileMemory(guest.endpoints.ramFile, { map: false });
    const procMem = new ProcessMemory(guest.pid, memory.layout(), 'pread', { access: 'pread' });
    const bytes = guest.memoryMiB << 20;
    const readers = [memory, procMem, file, filePread];
    for (const m of readers) randomReads(m, bytes, 2000); // warm
    const [viaProcess, viaPreadMem, viaMmap, viaPread] = interleaved(readers, (m) =>
      randomReads(m, bytes),
    ) as [Timed, Timed, Timed, Timed];
    const [small, smallMmap] = interleaved([memory, file], (m) =>
      randomReads(m, bytes, 20_000, 8),
    ) as [Timed, Timed];
    say(
      `random 8-byte reads (wall / CPU): QEMU process (${memory.access}) ${us(small.wall)} / ${us(small.cpu)} each (target ≤ 3 µs); shared file mmap ${us(smallMmap.wall)} / ${us(smallMmap.cpu)}`,
    );
    say(
      `random 4 KiB reads (wall / CPU time of this process): QEMU process (${memory.access}) ${us(viaProcess.wall)} / ${us(viaProcess.cpu)} each (target ≤ 3 µs), pread on /proc/PID/mem ${us(viaPreadMem.wall)} / ${us(viaPreadMem.cpu)}; shared file mmap ${us(viaMmap.wall)} / ${us(viaMmap.cpu)}, pread ${us(viaPread.wall)} / ${us(viaPread.cpu)} (process ${(viaProcess.wall / viaMmap.wall).toFixed(1)}× mmap by wall, ${(viaProcess.cpu / viaMmap.cpu).toFixed(1)}× by CPU)`,
    );
    const [seqProcess, seqPreadMem, seqFile] = interleaved([memory, procMem, file], (m) =>
      sequential(m, bytes),
    ) as [Timed, Timed, Timed];
    procMem.close();
    say(
      `sequential 1 MiB reads over ${guest.memoryMiB} MiB (wall / CPU): QEMU process (${memory.access}) ${seqProcess.wall.toFixed(0)} / ${seqProcess.cpu.toFixed(0)} MB/s, pread on /proc/PID/mem ${seqPreadMem.wall.toFixed(0)} / ${seqPreadMem.cpu.toFixed(0)} MB/s; shared file mmap ${seqFile.wall.toFixed(0)} / ${seqFile.cpu.toFixed(0)} MB/s (process ${((seqProcess.wall / seqFile.wall) * 100).toFixed(0)}% of mmap by wall, ${((seqProcess.cpu / seqFile.cpu) * 100).toFixed(0)}% by CPU; target ≥ 30%)`,
    );
    memory.close();
    file.close();
    filePread.close();
  } finally {
    qmp.close();
    await guest.stop();
  }
}

async function plainGuest(): Promise<void> {
  const guest = await startSampleGuest({ name: 'qemuany-bench-plain', plain: true });
  try {
    const qemu = qemuByPid(guest.pid);
    const qmp = await QmpClient.connect(guest.endpoints.qmpSocket);
    const { memory } = await openProcessMemory(qemu, qmp);
    const kernel = openLinuxKernel(memory, []);
    const times: number[] = [];
    const walks: number[] = [];
    const walkCpu: number[] = [];
    const stops: number[] = [];
    const conts: number[] = [];
    let count = 0;
    for (let run = 0; run < 21; run++) {
      const started = performance.now();
      await qmp.execute('stop');
      stops.push(performance.now() - started);
      kernel.newGeneration();
      try {
        const walk = timed(() => (count = listTasks(kernel).tasks.length));
        walks.push(walk.wall / 1000);
        walkCpu.push(walk.cpu / 1000);
      } finally {
        const resuming = performance.now();
        await qmp.execute('cont');
        conts.push(performance.now() - resuming);
      }
      times.push(performance.now() - started);
    }
    say(
      `consistent ps through the QEMU process (QMP stop, ${count} tasks, cont): median ${median(times).toFixed(1)} ms (target ≤ 20 ms; slowest of 21 ${Math.max(...times).toFixed(1)} ms), of which the walk ${median(walks).toFixed(1)} ms (${median(walkCpu).toFixed(1)} ms CPU), QMP stop ${median(stops).toFixed(1)} ms, cont ${median(conts).toFixed(1)} ms`,
    );
    memory.close();
    qmp.close();
    await freshProcessPs(guest.pid, guest.endpoints.qmpSocket);

    const bare = await guestLoopSeconds(guest, 1, EXECS);
    const domain = await openQemuProcessDomain({
      qemu,
      qmp: await QmpClient.connect(guest.endpoints.qmpSocket),
    });
    const hooked = execMonitor
      .start({ domain, kernel: openLiveKernel(domain) })
      .subscribe(() => undefined);
    await domain.synced();
    const withHook = await guestLoopSeconds(guest, 1, EXECS);
    hooked.unsubscribe();
    await domain.close();
    say(
      `exec loop (50 × /bin/true) on a plain QEMU: ${bare.toFixed(2)} s bare, ${withHook.toFixed(2)} s with the exec monitor on a hardware breakpoint (${(withHook / bare).toFixed(1)}×; ${(((withHook - bare) / 50) * 1000).toFixed(0)} ms per exec: stop, registers and task read over the gdbstub, step, continue)`,
    );
  } finally {
    await guest.stop();
  }
}

/**
 * `ringside ps` runs once in a fresh process, so its walk starts in V8's first pass: each run here is
 * a new process (opening the kernel, then the paused walk), with and without the warm-up walks.
 */
async function freshProcessPs(pid: number, qmpSocket: string): Promise<void> {
  const paused: Record<'cold' | 'warmed', number[]> = { cold: [], warmed: [] };
  for (let run = 0; run < 5; run++)
    for (const kind of ['cold', 'warmed'] as const) {
      const child = spawnSync(
        process.execPath,
        [fileURLToPath(import.meta.url), 'fresh-ps', String(pid), qmpSocket, kind],
        { encoding: 'utf8', timeout: 120_000 },
      );
      if (child.status !== 0) throw new Error(`fresh ps failed: ${child.stderr}`);
      paused[kind].push(Number(child.stdout.trim()));
    }
  say(
    `consistent ps from a fresh process (as \`ringside ps\` runs), guest paused: ${median(paused.warmed).toFixed(1)} ms median after ${WARM_UP_WALKS} warm-up walks while it runs (target ≤ 20 ms; runs ${paused.warmed.map((ms) => ms.toFixed(0)).join(', ')}), ${median(paused.cold).toFixed(1)} ms with none (${paused.cold.map((ms) => ms.toFixed(0)).join(', ')})`,
  );
}

/** One fresh-process ps: prints how long the guest was paused, in ms. */
async function freshPsChild(pid: number, qmpSocket: string, kind: string): Promise<void> {
  const qmp = await QmpClient.connect(qmpSocket);
  const { memory } = await openProcessMemory(qemuByPid(pid), qmp);
  const kernel = openLinuxKernel(memory, []);
  const { pausedMs } = await pausedTaskList(
    kernel,
    () => qmp.execute('stop'),
    () => qmp.execute('cont'),
    kind === 'cold' ? 0 : WARM_UP_WALKS,
  );
  memory.close();
  qmp.close();
  say(pausedMs.toFixed(2));
}

const load = (): string => loadavg()[0]!.toFixed(1);
if (process.argv[2] === 'fresh-ps') {
  await freshPsChild(Number(process.argv[3]), process.argv[4]!, process.argv[5]!);
} else {
  const loadAtStart = load();
  await reads();
  await plainGuest();
  const used = process.cpuUsage();
  say(
    `machine: load average ${loadAtStart} at the start, ${load()} at the end, ${cpus().length} cores; this bench used ${((used.user + used.system) / 1e6).toFixed(1)} s of CPU (its fresh ps processes not included)`,
  );
}
