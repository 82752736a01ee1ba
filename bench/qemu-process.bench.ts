// Any running QEMU through its process (issue 17): random 4 KiB and sequential guest-physical reads
// through /proc/PID/mem beside the shared-RAM-file backend on the same guest, a consistent `ps`
// (guest paused over QMP), and the cost of a hardware-breakpoint exec hook under TCG.
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
import { execMonitor } from '../plugins/exec-monitor/index.js';
import { startSampleGuest } from '../lab/guest/launch.js';
import { guestLoopSeconds, median, say } from './support/guest.js';

const PAGE = 4096;
const EXECS = "time sh -c 'for i in $(seq 50); do /bin/true; done'";

/** Mean µs per random 4 KiB read over the first `bytes` of RAM (a fixed LCG: the same pages each run). */
function randomReads(memory: PhysicalMemory, bytes: number, count = 20_000): number {
  const target = new Uint8Array(PAGE);
  const pages = Math.floor(bytes / PAGE);
  let seed = 12345;
  const started = process.hrtime.bigint();
  for (let read = 0; read < count; read++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    memory.readInto(BigInt((seed % pages) * PAGE), target);
  }
  return Number(process.hrtime.bigint() - started) / 1000 / count;
}

/** MB/s reading all of `bytes` in 1 MiB chunks. */
function sequential(memory: PhysicalMemory, bytes: number): number {
  const chunk = new Uint8Array(1 << 20);
  const started = process.hrtime.bigint();
  for (let offset = 0; offset + chunk.length <= bytes; offset += chunk.length)
    memory.readInto(BigInt(offset), chunk);
  return bytes / 1e6 / (Number(process.hrtime.bigint() - started) / 1e9);
}

async function reads(): Promise<void> {
  // A guest with a shared RAM file: the same RAM through both backends, in the same run.
  const guest = await startSampleGuest({ name: 'qemuany-bench-ram', plugin: false });
  const qmp = await guest.qmp();
  try {
    const { memory } = await openProcessMemory(qemuByPid(guest.pid), qmp);
    const file = new RamFileMemory(guest.endpoints.ramFile);
    const filePread = new RamFileMemory(guest.endpoints.ramFile, { map: false });
    const procMem = new ProcessMemory(guest.pid, memory.layout(), 'readv', {
      access: 'process_vm_readv',
    });
    const bytes = guest.memoryMiB << 20;
    for (const m of [memory, procMem, file, filePread]) randomReads(m, bytes, 2000); // warm
    const viaProcess = median([1, 2, 3].map(() => randomReads(memory, bytes)));
    const viaProcMem = median([1, 2, 3].map(() => randomReads(procMem, bytes)));
    const viaMmap = median([1, 2, 3].map(() => randomReads(file, bytes)));
    const viaPread = median([1, 2, 3].map(() => randomReads(filePread, bytes)));
    say(
      `random 4 KiB reads: QEMU process (${memory.access}) ${viaProcess.toFixed(2)} µs each (target ≤ 3 µs), process_vm_readv ${viaProcMem.toFixed(2)} µs; shared file mmap ${viaMmap.toFixed(2)} µs, pread ${viaPread.toFixed(2)} µs (process ${(viaProcess / viaMmap).toFixed(1)}× mmap)`,
    );
    const seqProcess = median([1, 2, 3].map(() => sequential(memory, bytes)));
    const seqFile = median([1, 2, 3].map(() => sequential(file, bytes)));
    const seqProcMem = median([1, 2, 3].map(() => sequential(procMem, bytes)));
    procMem.close();
    say(
      `sequential 1 MiB reads over ${guest.memoryMiB} MiB: QEMU process ${seqProcess.toFixed(0)} MB/s (process_vm_readv ${seqProcMem.toFixed(0)} MB/s), shared file mmap ${seqFile.toFixed(0)} MB/s (${((seqProcess / seqFile) * 100).toFixed(0)}%; target ≥ 30%)`,
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
    let count = 0;
    for (let run = 0; run < 11; run++) {
      const started = performance.now();
      await qmp.execute('stop');
      kernel.newGeneration();
      try {
        count = listTasks(kernel).tasks.length;
      } finally {
        await qmp.execute('cont');
      }
      times.push(performance.now() - started);
    }
    say(
      `consistent ps through the QEMU process (QMP stop, ${count} tasks, cont): median ${median(times).toFixed(1)} ms (target ≤ 20 ms)`,
    );
    memory.close();
    qmp.close();

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

await reads();
await plainGuest();
