// Unit tests of `snapshot modxview|hooks|bpf` on the fake kernel: a hidden module, a hook into it and
// a tampering program are marked in the tables and the JSON; guest strings are escaped in tables.
import { FakeLinux } from '../../introspect/os/linux/test-support/fake-linux.js';
import {
  writeBpfPrograms,
  writeDescriptors,
  writeFtraceOps,
  writeModTree,
  writeModuleKset,
} from '../../introspect/os/linux/test-support/fake-rootkit.js';
import { KERNEL_OBJECT_LISTINGS } from './snapshot-kernel-objects.js';

const listing = (name: string) => KERNEL_OBJECT_LISTINGS.find((entry) => entry.name === name)!;

function world() {
  const linux = new FakeLinux();
  const text = linux.kernelText([
    'kprobe_ftrace_handler',
    '__x64_sys_getdents64',
    '__bpf_call_base',
    'bpf_probe_write_user',
  ]);
  const dummy = linux.module('dummy', new Uint8Array(64));
  const rk = linux.module('evil\x1b[2J', new Uint8Array(64), { link: false, size: 4096 });
  writeModTree(linux, [dummy, rk]);
  writeModuleKset(linux, [dummy]);
  const base = linux.get64(rk + 0x100n);
  writeFtraceOps(linux, [{ func: base, targets: [text.get('__x64_sys_getdents64')!] }]);
  const [prog] = writeBpfPrograms(linux, [
    { id: 5, type: 17, name: 'rk', calls: [text.get('bpf_probe_write_user')!], uid: 0 },
  ]);
  const [loader] = linux.process(142, 'loader');
  writeDescriptors(linux, loader!.task, [{ prog: prog! }, { link: prog! }]);
  return linux.kernel();
}

describe('snapshot kernel-object listings', () => {
  it('modxview marks the module off the list, escaping its name in the table', () => {
    const result = listing('modxview').list(world());
    expect(result.json).toEqual([
      expect.objectContaining({ name: 'dummy', list: true, mod_tree: true, kobjects: true }),
      expect.objectContaining({ name: 'evil\x1b[2J', size: 4096, list: false, hidden: true }),
    ]);
    expect(result.table).toContain('evil\\x1b[2J');
    expect(result.table).toMatch(/evil.*-\s+yes\s+-\s+HIDDEN/);
    expect(result.summary).toMatch(/^2 modules, 1 hidden/);
  });

  it('hooks names the hooked function and the handler in the hidden module', () => {
    const result = listing('hooks').list(world());
    expect(result.json).toEqual([
      expect.objectContaining({
        kind: 'ftrace',
        hooked: ['__x64_sys_getdents64+0x0'],
        handlers: [expect.objectContaining({ role: 'func', where: 'module' })],
        foreign: true,
      }),
    ]);
    expect(result.table).toContain('OUTSIDE-TEXT');
    expect(result.summary).toBe('1 hooks, 1 with a handler outside the kernel text');
  });

  it('bpf lists the program with what makes it tamper', () => {
    const result = listing('bpf').list(world());
    expect(result.json).toEqual([
      expect.objectContaining({
        id: 5,
        type: 'raw_tracepoint',
        name: 'rk',
        uid: 0,
        helpers: ['bpf_probe_write_user'],
        tampering: ['calls bpf_probe_write_user'],
        held_by: [
          { pid: 142, name: 'loader', via: 'prog' },
          { pid: 142, name: 'loader', via: 'link' },
        ],
      }),
    ]);
    expect(result.table).toMatch(/5\s+raw_tracepoint\s+rk\s+.*\s1\s+loader\(142\)\s+calls/);
    expect(result.summary).toBe('1 programs, 1 that can tamper');
  });
});
