// A snapshot of the sample guest made hostile at test time: a process name and a module name holding
// ANSI escapes, no NUL and invalid UTF-8, and the system call table's page missing from the dump.
// Every text output shows the escapes visibly, JSON carries the names exactly, and `syscalls` answers
// for the rest of the table with a warning (exit 0, a partial answer); on that dump, with a process
// hidden and one given forged root, `check` still has the other detectors' findings.
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listModules } from '../introspect/os/linux/modules.js';
import { listTasks } from '../introspect/os/linux/tasks.js';
import { fileOffsetOf } from '../fuzz/dump-map.js';
import { takeSampleDump } from '../fuzz/sample-dump.js';
import { openSnapshotKernel } from './snapshot-context.js';

const cli = join(import.meta.dirname ?? '.', '..', 'dist', 'cli', 'main.js');
const ringside = (...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

/** 16 bytes, no NUL: clear screen, red, then bytes that are not UTF-8. */
const EVIL_COMM = Buffer.from('\x1b[2J\x1b[31mPWNE\xffZ\x07', 'latin1');
const EVIL_MODULE = Buffer.from('\x1b]0;pwned\x07rk\xc3(\0', 'latin1');

let dir: string;
let hostile: string;
let holed: string;
let victimPid: number;
let moduleName: string;
let hiddenPid: number;
let forgedPid: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ringside-hostile-'));
  const { path } = await takeSampleDump(dir, 'hostile');
  hostile = join(dir, 'hostile.elf');
  copyFileSync(path, hostile);
  const { snapshot, kernel } = openSnapshotKernel(path);
  const r = kernel.reader;
  const fileOf = (virtual: bigint): number => {
    const translated = r.space.translate(virtual);
    if (!translated.ok) throw new Error(`cannot translate 0x${virtual.toString(16)}`);
    return fileOffsetOf(snapshot.layout.segments, translated.physical)!;
  };
  const victim = listTasks(kernel).tasks.find((task) => task.comm === 'webd')!;
  victimPid = victim.pid;
  const module = listModules(kernel).modules[0]!;
  moduleName = module.name;
  const fd = openSync(hostile, 'r+');
  writeSync(fd, EVIL_COMM, 0, 16, fileOf(victim.address + r.offset('task_struct', 'comm')));
  writeSync(
    fd,
    EVIL_MODULE,
    0,
    EVIL_MODULE.length,
    fileOf(module.address + r.offset('module', 'name')),
  );
  closeSync(fd);
  // The page holding sys_call_table's first entries, cut out of the dump: the PT_LOADs are rewritten
  // (in a new program header table at the end of the file) around a one-page hole.
  const table = kernel.symbols.address('sys_call_table')!;
  const translated = r.space.translate(table);
  if (!translated.ok) throw new Error('sys_call_table is not mapped');
  const page = translated.physical & ~0xfffn;
  // Evidence for the other detectors: a process unlinked from the task list (DKOM) and a user
  // process whose credentials say root while cred->user still belongs to its own user.
  const tasks = listTasks(kernel).tasks.filter((task) => !task.kernelThread);
  const forged = tasks.find((task) => task.uid !== 0);
  if (!forged) throw new Error('the sample guest runs no process as a user other than root');
  forgedPid = forged.pid;
  const hiddenIndex = tasks.findIndex(
    (task, index) => index > 0 && task.pid !== forged.pid && task.pid === task.tgid,
  );
  const hidden = tasks[hiddenIndex]!;
  hiddenPid = hidden.pid;
  const all = listTasks(kernel).tasks;
  const at = all.findIndex((task) => task.address === hidden.address);
  const tasksOffset = r.offset('task_struct', 'tasks');
  const previous = all[at - 1]!.address + tasksOffset;
  const next = r.u64(hidden.address + tasksOffset);
  const cred = r.u64(forged.address + r.offset('task_struct', 'real_cred'));
  holed = join(dir, 'holed.elf');
  copyFileSync(path, holed);
  const patch = openSync(holed, 'r+');
  const u64 = (value: bigint) => {
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64LE(value);
    return bytes;
  };
  writeSync(patch, u64(next), 0, 8, fileOf(previous));
  writeSync(patch, u64(previous), 0, 8, fileOf(next + 8n));
  const zero = Buffer.alloc(4);
  for (const field of ['uid', 'euid'])
    writeSync(patch, zero, 0, 4, fileOf(cred + r.offset('cred', field)));
  closeSync(patch);
  snapshot.close();
  punchHole(holed, page);
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Rewrites the ELF's program headers so that physical page `page` is not in the dump. */
function punchHole(path: string, page: bigint): void {
  const fd = openSync(path, 'r+');
  const header = Buffer.alloc(64);
  readSync(fd, header, 0, 64, 0);
  const phoff = Number(header.readBigUInt64LE(32));
  const phnum = header.readUInt16LE(56);
  const table = Buffer.alloc(phnum * 56);
  readSync(fd, table, 0, table.length, phoff);
  const entries: Buffer[] = [];
  for (let index = 0; index < phnum; index++) {
    const entry = table.subarray(index * 56, index * 56 + 56);
    const physical = entry.readBigUInt64LE(24);
    const size = entry.readBigUInt64LE(32);
    if (entry.readUInt32LE(0) !== 1 || page < physical || page >= physical + size) {
      entries.push(Buffer.from(entry));
      continue;
    }
    const offset = entry.readBigUInt64LE(8);
    const before = Buffer.from(entry);
    before.writeBigUInt64LE(page - physical, 32);
    before.writeBigUInt64LE(page - physical, 40);
    const after = Buffer.from(entry);
    const skip = page + 4096n - physical;
    after.writeBigUInt64LE(offset + skip, 8);
    after.writeBigUInt64LE(physical + skip, 16);
    after.writeBigUInt64LE(physical + skip, 24);
    after.writeBigUInt64LE(size - skip, 32);
    after.writeBigUInt64LE(size - skip, 40);
    entries.push(before, after);
  }
  closeSync(fd);
  const end = statSync(path).size;
  appendFileSync(path, Buffer.concat(entries));
  const update = openSync(path, 'r+');
  header.writeBigUInt64LE(BigInt(end), 32);
  header.writeUInt16LE(entries.length, 56);
  writeSync(update, header, 0, 64, 0);
  closeSync(update);
}

describe('guest strings in every text output', () => {
  it.each(['pslist', 'pstree', 'psxview'])(
    '%s shows the escapes visibly and exits 0',
    (command) => {
      const result = ringside('snapshot', command, hostile);
      expect(result.status).toBe(0);
      expect(result.stdout).not.toMatch(CONTROL);
      expect(result.stderr).not.toMatch(CONTROL);
      expect(result.stdout).toContain('\\x1b[2J\\x1b[31mPWNE\ufffdZ\\x07');
    },
  );

  it('lsmod shows the module name escaped', () => {
    const result = ringside('snapshot', 'lsmod', hostile);
    expect(result.status).toBe(0);
    expect(result.stdout).not.toMatch(CONTROL);
    expect(result.stdout).toContain('\\x1b]0;pwned\\x07rk\ufffd(');
    expect(result.stdout).not.toContain(moduleName);
  });

  it('JSON carries the names exactly (invalid UTF-8 as U+FFFD, as everywhere)', () => {
    const pslist = JSON.parse(ringside('snapshot', 'pslist', '--json', hostile).stdout) as {
      pid: number;
      comm: string;
    }[];
    expect(pslist.find((task) => task.pid === victimPid)?.comm).toBe(
      '\x1b[2J\x1b[31mPWNE\ufffdZ\x07',
    );
    const lsmod = JSON.parse(ringside('snapshot', 'lsmod', '--json', hostile).stdout) as {
      name: string;
    }[];
    expect(lsmod.map((module) => module.name)).toContain('\x1b]0;pwned\x07rk\ufffd(');
  });

  it('check prints its text findings with no control character, and JSON exactly', () => {
    const result = ringside('snapshot', 'check', hostile);
    expect(result.status).toBe(0);
    expect(result.stdout).not.toMatch(CONTROL);
    expect(result.stderr).not.toMatch(CONTROL);
    const json = ringside('snapshot', 'check', '--json', hostile);
    expect(json.status).toBe(0);
    const summary = JSON.parse(json.stdout.trimEnd().split('\n').at(-1)!) as Json;
    expect(summary['ringside']).toEqual({
      check: expect.objectContaining({ partial: false, warnings: [] }),
    });
  });
});

describe('a dump with the system call table’s page missing', () => {
  it('syscalls answers for the readable entries with a warning, exit 0', () => {
    const result = ringside('snapshot', 'syscalls', '--json', holed);
    expect(result.stderr).toMatch(
      /warning: partial answer: sys_call_table entries 0–\d+ .* unreadable/,
    );
    expect(result.status).toBe(0);
    const rows = JSON.parse(result.stdout) as { index: number; suspicious: boolean }[];
    expect(rows.length).toBeGreaterThan(0);
    expect(rows[0]!.index).toBeGreaterThan(0);
    expect(rows.filter((row) => row.suspicious)).toEqual([]);
  });

  it('pslist on the same dump is untouched', () => {
    const result = ringside('snapshot', 'pslist', '--json', holed);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('check gives the other detectors’ findings, a warning, and exit 0 (a partial answer)', () => {
    const result = ringside('snapshot', 'check', holed);
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(
      /ringside: warning: partial answer: plugin kernel-integrity could not judge holed.elf: sys_call_table at 0x[0-9a-f]+: .*no memory in the snapshot/,
    );
    expect(result.stdout).toContain(`(pid ${hiddenPid}, task`);
    expect(result.stdout).toMatch(new RegExp(`\\(pid ${forgedPid}\\) went from euid \\d+ to 0`));
  });

  it('check --json carries the warning and each detector’s outcome in its last line', () => {
    const result = ringside('snapshot', 'check', '--json', holed);
    expect(result.status).toBe(0);
    const lines = result.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Json);
    const summary = lines.at(-1)!;
    expect(summary).toEqual(
      expect.objectContaining({
        event: expect.objectContaining({ dataset: 'ringside.check' }),
        ringside: {
          check: {
            findings: lines.length - 1,
            partial: true,
            detectors: {
              'kernel-integrity': 'failed',
              'hidden-process': 'judged',
              'cred-monitor': 'judged',
              'exec-monitor': 'judged',
              'module-monitor': 'judged',
              'hidden-module': 'judged',
              'function-hooks': 'judged',
              'bpf-programs': 'judged',
              'code-injection': 'judged',
              'namespace-escape': 'judged',
              'kthread-masquerade': 'judged',
            },
            warnings: [expect.stringMatching(/^plugin kernel-integrity could not judge/)],
          },
        },
      }),
    );
    const findings = lines.slice(0, -1);
    expect(findings.map((finding) => (finding['process'] as { pid?: number })?.pid)).toEqual(
      expect.arrayContaining([hiddenPid, forgedPid]),
    );
  });
});

type Json = Record<string, unknown>;

describe('the watchdog', () => {
  it('a command out of time answers with what it read and says so, exit 0', () => {
    const result = ringside('snapshot', 'psxview', '--time-limit', '0.001', hostile);
    expect(result.stderr).toMatch(/time budget of 0.001 s .*ran out|time budget of 0.001 s spent/);
    expect([0, 2]).toContain(result.status);
    expect(result.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
  });

  it('check out of time says so: exit 2 naming the budget if it ran out while opening, else a warning in text and --json', () => {
    // Where the budget runs out depends on the machine: opening the dump takes nearly all of a
    // check's time here (a bisection of the limit found no run that opened and then ran out).
    const result = ringside('snapshot', 'check', '--json', '--time-limit', '0.001', hostile);
    expect(result.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
    if (result.status === 2) {
      expect(result.stderr).toMatch(/time budget of 0.001 s spent/);
      expect(result.stdout).toBe('');
    } else {
      expect(result.status).toBe(0);
      expect(result.stderr).toMatch(
        /ringside: warning: partial answer: the time budget of 0.001 s \(--time-limit\) ran out/,
      );
      const summary = JSON.parse(result.stdout.trimEnd().split('\n').at(-1)!) as {
        ringside: { check: { partial: boolean; warnings: string[] } };
      };
      expect(summary.ringside.check.partial).toBe(true);
    }
  });
});
