// Boots the ARM64 sample guest (QEMU virt, Cortex-A57, TCG), snapshots it (ELF core over QMP, raw with
// pmemsave from the RAM base), and checks Ringside's answers against what the guest printed itself.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSnapshot } from '../../introspect/backends/snapshot/index.js';
import { openLinuxKernel, type LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { listModules } from '../../introspect/os/linux/modules.js';
import { readSyscallTable } from '../../introspect/os/linux/syscalls.js';
import { listTasks } from '../../introspect/os/linux/tasks.js';
import { openSnapshotKernel } from '../../cli/snapshot-context.js';
import { startSampleGuest, type RunningGuest } from './launch.js';

const repo = join(import.meta.dirname ?? '.', '..', '..');
const cli = join(repo, 'dist', 'cli', 'main.js');
const RAM_BASE = 0x4000_0000n;

let guest: RunningGuest;
let dir: string;
let elfPath: string;
let rawPath: string;
/** Entries of the clean table (the hooked-table test expects the same count). */
let guestSyscallCount = 0;

const snapshotCommand = (...args: string[]) =>
  spawnSync(process.execPath, [cli, 'snapshot', ...args], { encoding: 'utf8', timeout: 30_000 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ringside-it-arm64-'));
  guest = await startSampleGuest({ name: 'it-arm64', architecture: 'aarch64' });
  elfPath = join(dir, 'guest.elf');
  rawPath = join(dir, 'guest.raw');
  await guest.snapshot(elfPath);
  await guest.rawSnapshot(rawPath);
}, 240_000);

afterAll(async () => {
  await guest?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function checkAgainstGuest(kernel: LinuxKernel): void {
  const view = guest.view;
  expect(kernel.arch.name).toBe('aarch64');
  expect(kernel.release).toBe(view.release);
  expect(kernel.banner).toBe(view.version);
  // The image and the text symbols kallsyms does carry sit where the guest's /proc/kallsyms says.
  expect(kernel.symbols.address('_stext')).toBe(view.symbols.get('_stext'));
  expect(kernel.symbols.address('vectors')).toBe(view.symbols.get('vectors'));

  const { tasks, problem } = listTasks(kernel);
  expect(problem).toBeUndefined();
  const byPid = new Map(tasks.map((task) => [task.pid, task]));
  for (const process of view.processes) {
    const task = byPid.get(process.pid);
    // Short-lived kernel workers may come and go between the guest's listing and the snapshot.
    if (!task && process.name.startsWith('kworker')) continue;
    expect({ pid: process.pid, found: task !== undefined }).toEqual({
      pid: process.pid,
      found: true,
    });
    expect({
      pid: task!.pid,
      ppid: task!.ppid,
      uid: task!.uid,
      gid: task!.gid,
      euid: task!.euid,
    }).toEqual({
      pid: process.pid,
      ppid: process.ppid,
      uid: process.uid,
      gid: process.gid,
      euid: process.euid,
    });
    expect(process.name.startsWith(task!.comm)).toBe(true);
  }
  const workload = tasks.filter((task) => !task.kernelThread).map((task) => task.comm);
  expect(workload).toEqual(
    expect.arrayContaining([
      'init',
      'webd',
      'web-worker',
      'dbd',
      'monitord',
      'collector',
      'guestctl',
    ]),
  );
  // User processes have their own tables, in guest RAM.
  const init = byPid.get(1)!;
  expect(init.pageTableRoot! >= RAM_BASE && init.pageTableRoot! < RAM_BASE + (256n << 20n)).toBe(
    true,
  );

  const { modules } = listModules(kernel);
  expect(
    modules
      .map((module) => ({ name: module.name, size: module.size, base: module.base }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  ).toEqual(
    view.modules
      .map((module) => ({ name: module.name, size: module.size, base: module.address }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  );

  const syscalls = readSyscallTable(kernel);
  expect(syscalls.length).toBeGreaterThan(400);
  guestSyscallCount = syscalls.length;
  expect(syscalls.filter((entry) => entry.suspicious)).toEqual([]);
  let compared = 0;
  for (const entry of syscalls) {
    // Each entry's symbol is where the guest's own /proc/kallsyms puts it.
    const expected = view.symbols.get(entry.symbol!);
    expect({ nr: entry.index, address: expected }).toEqual({
      nr: entry.index,
      address: entry.target,
    });
    compared++;
  }
  expect(compared).toBe(syscalls.length);
  // The generic syscall numbers (include/uapi/asm-generic/unistd.h).
  expect(syscalls[63]!.symbol).toBe('__arm64_sys_read');
  expect(syscalls[221]!.symbol).toBe('__arm64_sys_execve');
}

describe('snapshots of the ARM64 sample guest', () => {
  it('an ELF core from dump-guest-memory (AArch64 notes, no TTBR) matches the guest’s own view', () => {
    const snapshot = openSnapshot(elfPath);
    expect(snapshot.layout).toMatchObject({ format: 'elf', architecture: 'aarch64' });
    expect(snapshot.layout.vcpus).toHaveLength(2);
    expect(snapshot.layout.vcpus[0]!.registers.pc).toBeDefined();
    expect(snapshot.memory.ranges()[0]!.start).toBe(RAM_BASE);
    const kernel = openLinuxKernel(snapshot.memory, snapshot.layout.vcpus, {
      architecture: snapshot.layout.architecture,
    });
    expect(kernel.image.rootSource).toBe('scan');
    expect(kernel.image.paging).toBe('AArch64 4 KiB granule, 48-bit VA');
    checkAgainstGuest(kernel);
    snapshot.close();
  });

  it('a raw dump is read at the RAM base given, or at the virt RAM base found by itself', () => {
    const given = openSnapshotKernel(rawPath, { ramBase: RAM_BASE });
    checkAgainstGuest(given.kernel);
    given.snapshot.close();
    const detected = openSnapshotKernel(rawPath);
    expect(detected.snapshot.memory.ranges()[0]!.start).toBe(RAM_BASE);
    checkAgainstGuest(detected.kernel);
    detected.snapshot.close();
  });
});

describe('the ringside CLI on ARM64 snapshots', () => {
  it.each([
    ['ELF', () => [elfPath]],
    ['raw', () => [rawPath, '--ram-base', '0x40000000']],
    ['raw, base found', () => [rawPath]],
  ])('every snapshot command prints a table and exits 0 (%s)', (_label, args) => {
    for (const command of ['info', 'pslist', 'pstree', 'lsmod', 'syscalls']) {
      const result = snapshotCommand(command, ...args());
      // syscalls sums up on stderr ("451 entries, 0 flagged"); nothing else may appear there.
      const stderr = result.stderr.replace(/^\d+ entries, 0 flagged\n$/, '');
      expect({ command, status: result.status, stderr }).toEqual({
        command,
        status: 0,
        stderr: '',
      });
      expect(result.stdout.length).toBeGreaterThan(20);
    }
  });

  it('pslist --json carries every workload process with its ids', () => {
    const result = snapshotCommand('pslist', '--json', elfPath);
    const rows = JSON.parse(result.stdout) as { pid: number; ppid: number; uid: number }[];
    const userProcesses = guest.view.processes.filter((entry) => entry.ppid > 2);
    expect(userProcesses.length).toBeGreaterThan(0); // the guest's own view is not empty
    for (const process of userProcesses) {
      expect(rows).toContainEqual(
        expect.objectContaining({ pid: process.pid, ppid: process.ppid, uid: process.uid }),
      );
    }
  });

  it('psxview sees every task in the task list, the PID tree and the pid links (run queues: not yet)', () => {
    const result = snapshotCommand('psxview', '--json', elfPath);
    expect(result.status).toBe(0);
    // The per-CPU run queues need __per_cpu_offset, which this kernel's kallsyms does not carry.
    expect(result.stderr.trim().split('\n')).toEqual([
      'ringside: warning: partial answer: runQueues: no per-CPU symbol runqueues',
    ]);
    const rows = JSON.parse(result.stdout) as {
      pid: number;
      task_list: boolean;
      id_tree: boolean;
      pid_links: boolean;
      hidden: boolean;
    }[];
    expect(rows.length).toBeGreaterThan(50);
    expect(rows.filter((row) => !row.task_list || !row.id_tree || !row.pid_links)).toEqual([]);
    expect(rows.filter((row) => row.hidden)).toEqual([]);
  });

  it('profile isf writes an ISF that gives the same process list as the kernel’s own kallsyms and BTF', () => {
    const isf = join(dir, 'arm64.json');
    const written = spawnSync(process.execPath, [cli, 'profile', 'isf', elfPath, '-o', isf], {
      encoding: 'utf8',
    });
    expect(written.status).toBe(0);
    const viaIsf = snapshotCommand('pslist', '--json', '--isf', isf, elfPath);
    const native = snapshotCommand('pslist', '--json', elfPath);
    expect(viaIsf.status).toBe(0);
    expect(JSON.parse(viaIsf.stdout)).toEqual(JSON.parse(native.stdout));
  });

  it('a syscall table entry hooked into a module is flagged, still counted, and a finding in snapshot check', () => {
    const clean = openSnapshotKernel(rawPath, { ramBase: RAM_BASE });
    const { kernel } = clean;
    const entry = kernel.symbols.address('sys_call_table')! + 63n * 8n;
    const translation = kernel.reader.space.translate(entry);
    const loop = listModules(kernel).modules.find((module) => module.name === 'loop')!;
    clean.snapshot.close();
    if (!translation.ok) throw new Error('cannot translate the syscall entry');
    const patched = join(dir, 'hooked.raw');
    execFileSync('cp', [rawPath, patched]);
    const fd = openSync(patched, 'r+');
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64LE(loop.base + 0x40n);
    writeSync(fd, bytes, 0, 8, Number(translation.physical - RAM_BASE));
    closeSync(fd);

    const syscalls = snapshotCommand('syscalls', '--json', patched);
    expect(syscalls.status).toBe(0);
    const rows = JSON.parse(syscalls.stdout) as {
      index: number;
      module: string | null;
      suspicious: boolean;
    }[];
    expect(rows).toHaveLength(guestSyscallCount);
    expect(rows.filter((row) => row.suspicious)).toEqual([
      expect.objectContaining({ index: 63, module: 'loop', suspicious: true }),
    ]);
    const check = snapshotCommand('check', patched);
    expect(check.status).toBe(0);
    expect(check.stdout).toContain('system call 63 points outside the kernel text ([loop]+0x40)');
  });

  it('a task list looped back on itself gives the tasks before the loop and a warning', () => {
    const clean = openSnapshotKernel(rawPath, { ramBase: RAM_BASE });
    const { kernel } = clean;
    const tasks = listTasks(kernel).tasks;
    const offset = kernel.reader.offset('task_struct', 'tasks');
    const victim = tasks[10]!.address + offset;
    const translation = kernel.reader.space.translate(victim);
    clean.snapshot.close();
    if (!translation.ok) throw new Error('cannot translate the patch address');
    const patched = join(dir, 'cyclic.raw');
    execFileSync('cp', [rawPath, patched]);
    const fd = openSync(patched, 'r+');
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64LE(victim);
    writeSync(fd, bytes, 0, 8, Number(translation.physical - RAM_BASE));
    closeSync(fd);
    const result = snapshotCommand('pslist', '--json', patched, '--ram-base', '0x40000000');
    expect(result.status).toBe(0);
    expect((JSON.parse(result.stdout) as { pid: number }[]).map((row) => row.pid)).toEqual(
      tasks.slice(0, 11).map((task) => task.pid),
    );
    expect(result.stderr).toMatch(/partial answer: the list loops back/);
  });
});
