// Boots the sample guest once, snapshots it, and checks the hidden-process cross view: on the real
// dump the four task views agree and the ID tree holds every pid the guest lists in /proc; on a copy
// of the dump with one user task unlinked from the task list, exactly that task is reported hidden.
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSnapshot, type Snapshot } from '../../introspect/backends/snapshot/index.js';
import { crossView } from '../../introspect/os/linux/cross-view.js';
import { openLinuxKernel, type LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { idTreeView, readPidTree } from '../../introspect/os/linux/task-views.js';
import { startSampleGuest, type RunningGuest } from './launch.js';

const repo = join(import.meta.dirname ?? '.', '..', '..');
const cli = join(repo, 'dist', 'cli', 'main.js');

let guest: RunningGuest;
let dir: string;
let elfPath: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ringside-psxview-'));
  guest = await startSampleGuest({ name: 'it-task-views' });
  // Two busy loops, so that the snapshot catches tasks on the run queues and not only idle CPUs.
  const control = await guest.control();
  for (let loop = 0; loop < 2; loop++)
    await control.run(`sh -c 'while :; do :; done' </dev/null >/dev/null 2>&1 &`);
  control.close();
  elfPath = join(dir, 'guest.elf');
  await guest.snapshot(elfPath);
}, 240_000);

afterAll(async () => {
  await guest?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function withKernel<T>(path: string, body: (kernel: LinuxKernel, snapshot: Snapshot) => T): T {
  const snapshot = openSnapshot(path);
  try {
    return body(openLinuxKernel(snapshot.memory, snapshot.layout.vcpus), snapshot);
  } finally {
    snapshot.close();
  }
}

/** Writes 8 bytes into an ELF core at the physical address behind a kernel virtual address. */
function patch(kernel: LinuxKernel, snapshot: Snapshot, file: number, at: bigint, value: bigint) {
  const translation = kernel.reader.space.translate(at);
  if (!translation.ok) throw new Error(`cannot translate 0x${at.toString(16)}`);
  const segment = snapshot.layout.segments.find(
    (candidate) =>
      translation.physical >= candidate.physical &&
      translation.physical + 8n <= candidate.physical + BigInt(candidate.length),
  );
  if (!segment) throw new Error(`physical 0x${translation.physical.toString(16)} is in no segment`);
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(value);
  writeSync(
    file,
    bytes,
    0,
    8,
    segment.fileOffset + Number(translation.physical - segment.physical),
  );
}

describe('the hidden-process cross view on the sample guest', () => {
  it('the four views agree on the real dump and the ID tree holds every pid in /proc', () =>
    withKernel(elfPath, (kernel) => {
      const view = crossView(kernel);
      expect(view.hidden).toEqual([]);
      for (const name of ['taskList', 'idTree', 'pidLinks', 'runQueues'] as const)
        expect({ name, problems: view.views[name].problems }).toEqual({ name, problems: [] });
      // Every task is on the task list, in the ID tree and on its pid's links.
      expect(
        view.tasks.filter((row) => !(row.views.taskList && row.views.idTree && row.views.pidLinks)),
      ).toEqual([]);
      // The busy loops (or whatever ran) were caught on a run queue, and the task list has them too.
      expect(view.views.runQueues.count).toBeGreaterThan(0);
      expect(view.tasks.filter((row) => row.views.runQueues && !row.views.taskList)).toEqual([]);

      const numbers = new Set(readPidTree(kernel).pids.map((pid) => pid.number));
      for (const process of guest.view.processes) {
        // Short-lived kernel workers may come and go between the guest's listing and the snapshot.
        if (!numbers.has(process.pid) && process.name.startsWith('kworker')) continue;
        expect({ pid: process.pid, inIdTree: numbers.has(process.pid) }).toEqual({
          pid: process.pid,
          inIdTree: true,
        });
      }
      // Each task found through the ID tree carries the number it is filed under.
      const byAddress = new Map(view.tasks.map((row) => [row.address, row]));
      for (const [task, where] of idTreeView(kernel).tasks)
        expect(where).toBe(`pid ${byAddress.get(task)!.pid}`);
    }));

  it('a user task unlinked from the task list in a copy of the dump is reported hidden, seen by the ID tree', () => {
    const patched = join(dir, 'hidden.elf');
    copyFileSync(elfPath, patched);
    const victim = withKernel(elfPath, (kernel, snapshot) => {
      const { tasks } = crossView(kernel);
      const threadsOf = (tgid: number) => tasks.filter((row) => row.tgid === tgid).length;
      const candidate = tasks.find(
        (row) =>
          row.kernelThread === false &&
          row.pid !== 1 &&
          row.pid === row.tgid &&
          threadsOf(row.tgid!) === 1 &&
          row.comm === 'monitord',
      );
      expect(candidate).toBeDefined();
      const r = kernel.reader;
      const node = candidate!.address + r.offset('task_struct', 'tasks');
      const next = r.u64(node);
      const prev = r.u64(node + 8n);
      const file = openSync(patched, 'r+');
      try {
        patch(kernel, snapshot, file, prev, next); // prev->next = next
        patch(kernel, snapshot, file, next + 8n, prev); // next->prev = prev
      } finally {
        closeSync(file);
      }
      return candidate!;
    });

    withKernel(patched, (kernel) => {
      const view = crossView(kernel);
      expect(view.views.taskList.complete).toBe(true);
      expect(view.hidden).toEqual([
        expect.objectContaining({
          address: victim.address,
          pid: victim.pid,
          comm: victim.comm,
          hidden: true,
          views: expect.objectContaining({ taskList: false, idTree: true, pidLinks: true }),
        }),
      ]);
    });

    const result = spawnSync(process.execPath, [cli, 'snapshot', 'psxview', '--json', patched], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(0);
    const rows = JSON.parse(result.stdout) as { pid: number; hidden: boolean; id_tree: boolean }[];
    expect(rows.filter((row) => row.hidden)).toEqual([
      expect.objectContaining({ pid: victim.pid, hidden: true, id_tree: true }),
    ]);
    const table = spawnSync(process.execPath, [cli, 'snapshot', 'psxview', patched], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`^\\s*${victim.pid}\\s.*monitord.*HIDDEN$`, 'm'));
  });
});
