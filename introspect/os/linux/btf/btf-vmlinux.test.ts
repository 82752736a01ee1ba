// Checks the parser against the host kernel's own BTF, when the host exposes it.
import { existsSync, readFileSync } from 'node:fs';
import { parseBtf } from './btf-type-table.js';

const VMLINUX_BTF = '/sys/kernel/btf/vmlinux';
const present = existsSync(VMLINUX_BTF);
if (!present) {
  console.warn(`${VMLINUX_BTF} is absent on this host: the real-kernel BTF test is skipped`);
}

(present ? describe : describe.skip)(`parseBtf on the host's ${VMLINUX_BTF}`, () => {
  const table = present ? parseBtf(readFileSync(VMLINUX_BTF), { source: VMLINUX_BTF }) : undefined!;

  it('holds the kernel structures Ringside reads', () => {
    expect(table.count).toBeGreaterThan(10_000);
    for (const name of ['task_struct', 'cred', 'list_head', 'module', 'mm_struct', 'pid']) {
      const id = table.findStruct(name);
      expect(id).toBeDefined();
      expect(table.get(id!)).toMatchObject({ kind: 'struct', name });
    }
  });

  it('gives sane offsets for the fields pslist needs', () => {
    const taskSize = table.sizeOf(table.findStruct('task_struct')!);
    expect(taskSize).toBeGreaterThan(1000);
    expect(taskSize).toBeLessThan(64 * 1024);
    const tasks = table.field('task_struct', 'tasks')!;
    expect(tasks.offset).toBeGreaterThan(0);
    expect(tasks.offset % 8).toBe(0);
    expect(tasks.offset + 16).toBeLessThanOrEqual(taskSize);
    expect(table.get(tasks.type)).toMatchObject({ kind: 'struct', name: 'list_head' });
    expect(table.field('list_head', 'next')?.offset).toBe(0);
    expect(table.field('list_head', 'prev')?.offset).toBe(8);
    const comm = table.field('task_struct', 'comm')!;
    expect(table.get(comm.type)).toMatchObject({ kind: 'array', count: 16 });
    for (const path of ['pid', 'tgid', 'real_parent', 'cred', 'mm', 'flags']) {
      expect(table.field('task_struct', path)).toBeDefined();
    }
    expect(table.get(table.field('task_struct', 'cred')!.type)).toMatchObject({ kind: 'pointer' });
    const uid = table.field('cred', 'uid.val')!;
    expect(table.get(uid.type)).toMatchObject({ kind: 'int', size: 4, signed: false });
    expect(table.field('cred', 'gid.val')!.offset).toBeGreaterThan(uid.offset);
    expect(table.field('cred', 'euid.val')).toBeDefined();
    expect(table.field('module', 'list.next')).toBeDefined();
    expect(table.field('module', 'name')).toBeDefined();
    // rcu_users sits in an anonymous union in every kernel since 5.0.
    expect(table.field('task_struct', 'rcu_users')).toBeDefined();
  });

  it('indexes kernel functions and per-CPU variables', () => {
    expect(table.findFunction('do_exit')).toBeDefined();
    expect(table.findVariable('runqueues')).toBeDefined();
    const perCpu = table.dataSections().get('.data..percpu');
    expect(perCpu?.find((entry) => entry.variable.name === 'runqueues')).toBeDefined();
  });
});
