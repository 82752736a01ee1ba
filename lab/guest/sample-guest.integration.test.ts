// Boots the real sample guest, snapshots it (ELF core over QMP, raw with pmemsave, LiME made from the
// raw), and checks Ringside's answers against what the guest printed about itself.
import { execFileSync, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSnapshot } from '../../introspect/backends/snapshot/index.js';
import { openLinuxKernel, type LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { listModules } from '../../introspect/os/linux/modules.js';
import { readSyscallTable } from '../../introspect/os/linux/syscalls.js';
import { listTasks } from '../../introspect/os/linux/tasks.js';
import { buildSampleGuest } from './build.js';
import { startSampleGuest, type RunningGuest } from './launch.js';

const repo = join(import.meta.dirname ?? '.', '..', '..');
const cli = join(repo, 'dist', 'cli', 'main.js');

let guest: RunningGuest;

/** `ringside snapshot pslist --json` with extra arguments, as a child process. */
const pslist = (...args: string[]) =>
  spawnSync(process.execPath, [cli, 'snapshot', 'pslist', '--json', ...args], {
    encoding: 'utf8',
    timeout: 30_000,
  });
let dir: string;
let elfPath: string;
let rawPath: string;
let limePath: string;

function makeLime(raw: string, lime: string, size: number): void {
  // One LiME range covering the whole raw image: header (magic, version, start, end, reserved).
  const header = Buffer.alloc(32);
  header.writeUInt32LE(0x4c694d45, 0);
  header.writeUInt32LE(1, 4);
  header.writeBigUInt64LE(0n, 8);
  header.writeBigUInt64LE(BigInt(size - 1), 16);
  const input = openSync(raw, 'r');
  const output = openSync(lime, 'w');
  writeSync(output, header);
  const chunk = Buffer.alloc(16 << 20);
  for (let offset = 0; offset < size; offset += chunk.length) {
    const got = readSync(input, chunk, 0, chunk.length, offset);
    writeSync(output, chunk, 0, got);
  }
  closeSync(input);
  closeSync(output);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ringside-it-'));
  guest = await startSampleGuest({ name: 'it-snapshot' });
  elfPath = join(dir, 'guest.elf');
  rawPath = join(dir, 'guest.raw');
  limePath = join(dir, 'guest.lime');
  await guest.snapshot(elfPath);
  const qmp = await guest.qmp();
  await qmp.execute('stop');
  await qmp.execute('pmemsave', { val: 0, size: 256 << 20, filename: rawPath });
  await qmp.execute('cont');
  qmp.close();
  makeLime(rawPath, limePath, 256 << 20);
}, 240_000);

afterAll(async () => {
  await guest?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function checkAgainstGuest(kernel: LinuxKernel): void {
  const view = guest.view;
  expect(kernel.release).toBe(view.release);
  expect(kernel.banner).toBe(view.version);
  const { tasks, problem } = listTasks(kernel);
  expect(problem).toBeUndefined();
  const byPid = new Map(tasks.map((task) => [task.pid, task]));
  const kernelThreadNames = (name: string) => name.startsWith('kworker');
  for (const process of view.processes) {
    const task = byPid.get(process.pid);
    // Short-lived kernel workers may come and go between the guest's listing and the snapshot.
    if (!task && kernelThreadNames(process.name)) continue;
    expect({ pid: process.pid, task: task !== undefined }).toEqual({
      pid: process.pid,
      task: true,
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
    // /proc shows kernel threads' full names and kworkers' current work; comm is the first 15 bytes.
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
  expect(syscalls.filter((entry) => entry.suspicious)).toEqual([]);
  expect(kernel.symbols.address('sys_call_table')).toBe(view.symbols.get('sys_call_table'));
  for (const entry of syscalls) {
    // Each entry's symbol is where the guest's own /proc/kallsyms puts it.
    const expected = view.symbols.get(entry.symbol!);
    if (entry.symbol!.startsWith('__x64_sys_'))
      expect({ nr: entry.index, address: expected }).toEqual({
        nr: entry.index,
        address: entry.target,
      });
  }
  expect(syscalls[0]!.symbol).toBe('__x64_sys_read');
  expect(syscalls[59]!.symbol).toBe('__x64_sys_execve');
}

describe('snapshots of the sample guest', () => {
  it('an ELF core from dump-guest-memory matches the guest’s own view', () => {
    const snapshot = openSnapshot(elfPath);
    expect(snapshot.layout.format).toBe('elf');
    expect(snapshot.layout.vcpus).toHaveLength(2);
    const kernel = openLinuxKernel(snapshot.memory, snapshot.layout.vcpus);
    expect(kernel.image.rootSource).toBe('cr3');
    checkAgainstGuest(kernel);
    snapshot.close();
  });

  it('a raw dump (no registers) is understood by scanning for the kernel page tables', () => {
    const snapshot = openSnapshot(rawPath);
    expect(snapshot.layout.format).toBe('raw');
    const kernel = openLinuxKernel(snapshot.memory, snapshot.layout.vcpus);
    expect(kernel.image.rootSource).toBe('scan');
    checkAgainstGuest(kernel);
    snapshot.close();
  });

  it('a LiME dump is understood the same way', () => {
    const snapshot = openSnapshot(limePath);
    expect(snapshot.layout.format).toBe('lime');
    checkAgainstGuest(openLinuxKernel(snapshot.memory, snapshot.layout.vcpus));
    snapshot.close();
  });
});

describe('hostile kernel structures in a real dump', () => {
  /** A copy of the raw dump with 8 bytes replaced at the physical address behind a kernel virtual one. */
  function patchedRaw(kernel: LinuxKernel, virtual: bigint, value: bigint, name: string): string {
    const translation = kernel.reader.space.translate(virtual);
    if (!translation.ok) throw new Error('cannot translate the patch address');
    const path = join(dir, name);
    execFileSync('cp', [rawPath, path]);
    const fd = openSync(path, 'r+');
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64LE(value);
    writeSync(fd, bytes, 0, 8, Number(translation.physical));
    closeSync(fd);
    return path;
  }

  function taskListPatch(
    make: (kernel: LinuxKernel, victim: bigint, tasksOffset: bigint) => bigint,
    name: string,
  ) {
    const clean = openSnapshot(rawPath);
    const kernel = openLinuxKernel(clean.memory, []);
    const tasks = listTasks(kernel).tasks;
    const tasksOffset = kernel.reader.offset('task_struct', 'tasks');
    const victim = tasks[10]!.address;
    const path = patchedRaw(kernel, victim + tasksOffset, make(kernel, victim, tasksOffset), name);
    clean.close();
    return { path, expectedPrefix: tasks.slice(0, 11).map((task) => task.pid) };
  }

  it('a task list looped back on itself gives the tasks before the loop and a warning, not a hang', () => {
    const { path, expectedPrefix } = taskListPatch(
      (_kernel, victim, offset) => victim + offset,
      'cyclic.raw',
    );
    const result = pslist(path);
    expect(result.status).toBe(0);
    expect((JSON.parse(result.stdout) as { pid: number }[]).map((row) => row.pid)).toEqual(
      expectedPrefix,
    );
    expect(result.stderr).toMatch(/partial answer: the list loops back/);
  });

  it('a task list pointing into nowhere gives the tasks before it and names the address', () => {
    const { path, expectedPrefix } = taskListPatch(() => 0xffff_dead_beef_0000n, 'wild.raw');
    const result = pslist(path);
    expect(result.status).toBe(0);
    expect((JSON.parse(result.stdout) as { pid: number }[]).map((row) => row.pid)).toEqual(
      expectedPrefix,
    );
    expect(result.stderr).toMatch(/partial answer: .*list pointer 0xffffdeadbeef0000\) unreadable/);
  });
});

describe('the ringside CLI on the snapshot', () => {
  it('pslist --json carries pid, ppid, uid, gid, comm and kernel_thread for every process', () => {
    const output = execFileSync(process.execPath, [cli, 'snapshot', 'pslist', '--json', elfPath], {
      encoding: 'utf8',
    });
    const rows = JSON.parse(output) as {
      pid: number;
      ppid: number;
      uid: number;
      gid: number;
      comm: string;
      kernel_thread: boolean;
    }[];
    for (const process of guest.view.processes.filter(
      (entry) => entry.ppid !== 2 && entry.pid !== 2,
    )) {
      expect(rows).toContainEqual(
        expect.objectContaining({
          pid: process.pid,
          ppid: process.ppid,
          uid: process.uid,
          gid: process.gid,
          kernel_thread: false,
        }),
      );
    }
    expect(rows.find((row) => row.pid === 2)).toMatchObject({
      comm: 'kthreadd',
      kernel_thread: true,
    });
  });

  it.each(['info', 'pslist', 'pstree', 'lsmod', 'syscalls'])(
    '%s prints a table and exits 0',
    (command) => {
      const result = spawnSync(process.execPath, [cli, 'snapshot', command, elfPath], {
        encoding: 'utf8',
      });
      expect(result.status).toBe(0);
      expect(result.stdout.length).toBeGreaterThan(20);
    },
  );

  it('exits 2 with the file and offset named for a truncated dump', () => {
    const truncated = join(dir, 'truncated.elf');
    execFileSync('head', ['-c', String(64 << 20), elfPath], {
      stdio: ['ignore', openSync(truncated, 'w'), 'inherit'],
    });
    const result = spawnSync(process.execPath, [cli, 'snapshot', 'pslist', truncated], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(truncated);
    expect(result.stderr).toMatch(/truncated/);
  });

  it('profile isf writes an ISF that gives the same answers as the kernel’s own kallsyms and BTF', () => {
    const isf = join(dir, 'ringside.json');
    const written = spawnSync(process.execPath, [cli, 'profile', 'isf', elfPath, '-o', isf], {
      encoding: 'utf8',
    });
    expect(written.status).toBe(0);
    const document = JSON.parse(readFileSync(isf, 'utf8')) as {
      metadata: { format: string };
      symbols: Record<string, { constant_data?: string }>;
    };
    expect(document.metadata.format).toMatch(/^6\./);
    // Volatility 3 recognises a Linux ISF by linux_banner's bytes.
    expect(
      Buffer.from(document.symbols.linux_banner!.constant_data!, 'base64').toString('latin1'),
    ).toContain(guest.view.version);
    const ours = pslist('--isf', isf, elfPath);
    const native = pslist(elfPath);
    expect(ours.status).toBe(0);
    expect(JSON.parse(ours.stdout)).toEqual(JSON.parse(native.stdout));
  });

  const anchor = join(
    repo,
    '..',
    'shared',
    'anchors',
    'linux-6.1.0-56-cloud-amd64.dwarf2json.json.xz',
  );
  // The anchor fits one kernel build only: the comparison runs when the sample guest (found in the
  // cache as it will boot) runs that build, and is reported skipped otherwise, never passed empty.
  const ANCHOR_RELEASE = '6.1.0-56-cloud-amd64';
  const anchorFits = existsSync(anchor) && buildSampleGuest().release === ANCHOR_RELEASE;
  (anchorFits ? it : it.skip)(
    `a dwarf2json ISF of the same kernel build gives the same process list (${ANCHOR_RELEASE} only)`,
    () => {
      expect(guest.view.release).toBe(ANCHOR_RELEASE);
      const viaIsf = pslist('--isf', anchor, elfPath);
      const native = pslist(elfPath);
      expect(viaIsf.status).toBe(0);
      expect(JSON.parse(viaIsf.stdout)).toEqual(JSON.parse(native.stdout));
    },
  );

  it('stops quietly with exit 0 when its reader goes away (`… | head -c 50`)', () => {
    const result = spawnSync(
      'bash',
      [
        '-c',
        `"$0" "$1" snapshot syscalls --json "$2" | head -c 50 >/dev/null; exit \${PIPESTATUS[0]}`,
        process.execPath,
        cli,
        elfPath,
      ],
      { encoding: 'utf8' },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('exits 2 for a missing file', () => {
    const result = spawnSync(process.execPath, [cli, 'snapshot', 'info', join(dir, 'nope.elf')], {
      encoding: 'utf8',
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('no such file');
  });
});
