// Any running QEMU through its process (issue 17): random and sequential guest-physical reads of a
// plain guest's RAM beside the shared-RAM-file backend in the same run, a consistent `ps` (guest
// paused over QMP; warm and from fresh processes), and a hardware-breakpoint exec hook under TCG.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
import { startSampleGuest, type RunningGuest } from '../lab/guest/launch.js';
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

/**
 * Reads of a plain `-m` guest's RAM (anonymous memory, in transparent huge pages here, as QEMU asks)
 * and of a shared-RAM-file guest through its process, beside that file's own mapping: the
 * comparison the targets name. Both guests run during the reads, the readers interleaved.
 */
async function reads(ramGuest: RunningGuest, plain: RunningGuest): Promise<void> {
  const qmp = await ramGuest.qmp();
  const plainQmp = await QmpClient.connect(plain.endpoints.qmpSocket);
  try {
    const { memory } = await openProcessMemory(qemuByPid(ramGuest.pid), qmp);
    const { memory: anonymous } = await openProcessMemory(qemuByPid(plain.pid), plainQmp);
    const file = new RamFileMemory(ramGuest.endpoints.ramFile);
    const filePread = new RamFileMemory(ramGuest.endpoints.ramFile, { map: false });
    const procMem = new ProcessMemory(ramGuest.pid, memory.layout(), 'pread', { access: 'pread' });
    const bytes = Math.min(ramGuest.memoryMiB, plain.memoryMiB) << 20;
    // How much of the plain guest's RAM QEMU has actually backed (a page never touched would read
    // as the shared zero page, which flatters a figure): RSS and transparent huge pages.
    const rollup = readFileSync(`/proc/${plain.pid}/smaps_rollup`, 'utf8');
    const kib = (field: string): number =>
      Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
    say(
      `plain guest: QEMU resident ${kib('Rss') >> 10} MiB for ${plain.memoryMiB} MiB of guest RAM, ${kib('AnonHugePages') >> 10} MiB of it in transparent huge pages`,
    );
    const readers = [anonymous, memory, procMem, file, filePread];
    for (const m of readers) randomReads(m, bytes, 2000); // warm
    const [viaAnonymous, viaProcess, viaPreadMem, viaMmap, viaPread] = interleaved(readers, (m) =>
      randomReads(m, bytes),
    ) as [Timed, Timed, Timed, Timed, Timed];
    const [small, smallMmap] = interleaved([anonymous, file], (m) =>
      randomReads(m, bytes, 20_000, 8),
    ) as [Timed, Timed];
    say(
      `random 8-byte reads (wall / CPU): QEMU process, plain -m RAM (${anonymous.access}) ${us(small.wall)} / ${us(small.cpu)} each (target ≤ 3 µs); shared file mmap ${us(smallMmap.wall)} / ${us(smallMmap.cpu)}`,
    );
    say(
      `random 4 KiB reads (wall / CPU time of this process): QEMU process, plain -m RAM (${anonymous.access}) ${us(viaAnonymous.wall)} / ${us(viaAnonymous.cpu)} each (target ≤ 3 µs); the shared-file guest through its process ${us(viaProcess.wall)} / ${us(viaProcess.cpu)}, pread on its /proc/PID/mem ${us(viaPreadMem.wall)} / ${us(viaPreadMem.cpu)}; its file mmap ${us(viaMmap.wall)} / ${us(viaMmap.cpu)}, pread ${us(viaPread.wall)} / ${us(viaPread.cpu)} (plain process ${(viaAnonymous.wall / viaMmap.wall).toFixed(1)}× mmap by wall, ${(viaAnonymous.cpu / viaMmap.cpu).toFixed(1)}× by CPU)`,
    );
    const [seqAnonymous, seqProcess, seqPreadMem, seqFile] = interleaved(
      [anonymous, memory, procMem, file],
      (m) => sequential(m, bytes),
    ) as [Timed, Timed, Timed, Timed];
    procMem.close();
    const share = (part: Timed, whole: Timed): string =>
      `${((part.wall / whole.wall) * 100).toFixed(0)}% / ${((part.cpu / whole.cpu) * 100).toFixed(0)}%`;
    say(
      `sequential 1 MiB reads over ${bytes >> 20} MiB (wall / CPU): QEMU process, plain -m RAM (${anonymous.access}) ${seqAnonymous.wall.toFixed(0)} / ${seqAnonymous.cpu.toFixed(0)} MB/s = ${share(seqAnonymous, seqFile)} of mmap (target ≥ 30%); the shared-file guest through its process ${seqProcess.wall.toFixed(0)} / ${seqProcess.cpu.toFixed(0)} MB/s = ${share(seqProcess, seqFile)}, pread on its /proc/PID/mem ${seqPreadMem.wall.toFixed(0)} / ${seqPreadMem.cpu.toFixed(0)} MB/s; its file mmap ${seqFile.wall.toFixed(0)} / ${seqFile.cpu.toFixed(0)} MB/s`,
    );
    anonymous.close();
    memory.close();
    file.close();
    filePread.close();
  } finally {
    qmp.close();
    plainQmp.close();
  }
}

async function plainGuest(guest: RunningGuest): Promise<void> {
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
}

/**
 * `ringside ps` runs once in a fresh process, so its walk starts in V8's first pass: each run here is
 * a new process (opening the kernel, then the paused walk), with and without the warm-up walks.
 */
async function freshProcessPs(pid: number, qmpSocket: string): Promise<void> {
  const paused: Record<'cold' | 'warmed', number[]> = { cold: [], warmed: [] };
  const stood: Record<'cold' | 'warmed', number[]> = { cold: [], warmed: [] };
  for (let run = 0; run < 5; run++)
    for (const kind of ['cold', 'warmed'] as const) {
      const child = spawnSync(
        process.execPath,
        [fileURLToPath(import.meta.url), 'fresh-ps', String(pid), qmpSocket, kind],
        { encoding: 'utf8', timeout: 120_000 },
      );
      if (child.status !== 0) throw new Error(`fresh ps failed: ${child.stderr}`);
      const [asked, vcpus] = child.stdout.trim().split(' ').map(Number);
      paused[kind].push(asked!);
      stood[kind].push(vcpus!);
    }
  const runs = (values: number[]): string => values.map((ms) => ms.toFixed(0)).join(', ');
  say(
    `consistent ps from a fresh process (as \`ringside ps\` runs) after ${WARM_UP_WALKS} warm-up walks while the guest runs: vCPUs stopped ${median(stood.warmed).toFixed(1)} ms median by QEMU's STOP/RESUME event times (target ≤ 20 ms; runs ${runs(stood.warmed)}), ${median(paused.warmed).toFixed(1)} ms from asking for the stop to the resume's answer (${runs(paused.warmed)}); with no warm-up ${median(stood.cold).toFixed(1)} ms (${runs(stood.cold)}) and ${median(paused.cold).toFixed(1)} ms (${runs(paused.cold)})`,
  );
}

/** One fresh-process ps: prints how long the guest was paused, in ms. */
async function freshPsChild(pid: number, qmpSocket: string, kind: string): Promise<void> {
  const qmp = await QmpClient.connect(qmpSocket);
  const { memory } = await openProcessMemory(qemuByPid(pid), qmp);
  const kernel = openLinuxKernel(memory, []);
  // QEMU's own clock at STOP and RESUME: how long the vCPUs stood still, without the round trips.
  const stamps = new Map<string, number>();
  qmp.onEvent(({ event, timestamp }) => {
    if (timestamp) stamps.set(event, timestamp.seconds * 1000 + timestamp.microseconds / 1000);
  });
  const { pausedMs } = await pausedTaskList(
    kernel,
    () => qmp.execute('stop'),
    () => qmp.execute('cont'),
    kind === 'cold' ? 0 : WARM_UP_WALKS,
  );
  memory.close();
  qmp.close();
  const stood = (stamps.get('RESUME') ?? NaN) - (stamps.get('STOP') ?? NaN);
  say(`${pausedMs.toFixed(2)} ${stood.toFixed(2)}`);
}

const load = (): string => loadavg()[0]!.toFixed(1);
if (process.argv[2] === 'fresh-ps') {
  await freshPsChild(Number(process.argv[3]), process.argv[4]!, process.argv[5]!);
} else {
  const loadAtStart = load();
  const [ramGuest, plain] = await Promise.all([
    startSampleGuest({ name: 'qemuany-bench-ram', plugin: false }),
    startSampleGuest({ name: 'qemuany-bench-plain', plain: true }),
  ]);
  try {
    await reads(ramGuest, plain);
    await ramGuest.stop();
    await plainGuest(plain);
  } finally {
    await Promise.all([ramGuest.stop(), plain.stop()]);
  }
  const used = process.cpuUsage();
  say(
    `machine: load average ${loadAtStart} at the start, ${load()} at the end, ${cpus().length} cores; this bench used ${((used.user + used.system) / 1e6).toFixed(1)} s of CPU (its fresh ps processes not included)`,
  );
}
