// Unit tests of the function-hook walks on the fake kernel: ftrace_ops with their filtered functions,
// kprobes (aggregate and kretprobe included), each handler located; hostile lists stay bounded.
import { FakeLinux } from './test-support/fake-linux.js';
import { writeFtraceOps, writeKprobes } from './test-support/fake-rootkit.js';
import { foreignHandlers, listFunctionHooks } from './function-hooks.js';
import { listModules } from './modules.js';

function world() {
  const linux = new FakeLinux();
  const text = linux.kernelText([
    'kprobe_ftrace_handler',
    'aggr_pre_handler',
    'pre_handler_kretprobe',
    '__x64_sys_kill',
    '__x64_sys_getdents64',
    'tcp4_seq_show',
  ]);
  const evil = linux.module('evil', new Uint8Array(0x100).fill(0xc3));
  const base = linux.get64(evil + 0x100n);
  return { linux, text: (name: string) => text.get(name)!, base };
}

const hooksOf = (linux: FakeLinux) => {
  const kernel = linux.kernel();
  return listFunctionHooks(kernel, () => listModules(kernel).modules);
};

describe('listFunctionHooks', () => {
  it('names the functions an ftrace_ops filters and where its handler lives', () => {
    const { linux, text, base } = world();
    const [kernelOps, evilOps, everything] = writeFtraceOps(linux, [
      { func: text('kprobe_ftrace_handler'), targets: [text('__x64_sys_kill')] },
      {
        func: base + 0x10n,
        targets: [text('__x64_sys_getdents64'), text('tcp4_seq_show') + 4n],
      },
      { func: base + 0x20n },
    ]);
    const { hooks, problems } = hooksOf(linux);
    expect(problems).toEqual([]);
    expect(hooks.map((hook) => [hook.kind, hook.object, hook.allFunctions ?? false])).toEqual([
      ['ftrace', kernelOps, false],
      ['ftrace', evilOps, false],
      ['ftrace', everything, true],
    ]);
    expect(foreignHandlers(hooks[0]!)).toEqual([]);
    expect(hooks[1]!.targets.map((target) => target.symbol).sort()).toEqual([
      '__x64_sys_getdents64+0x0',
      'tcp4_seq_show+0x4',
    ]);
    expect(foreignHandlers(hooks[1]!)).toEqual([
      {
        role: 'func',
        address: base + 0x10n,
        location: { where: 'module', module: 'evil', symbol: '[evil]+0x10' },
      },
    ]);
  });

  it('reads kprobes, the children of an aggregate probe and a kretprobe’s handlers', () => {
    const { linux, text, base } = world();
    linux.symbols.set('aggr_pre_handler', text('aggr_pre_handler'));
    const [plain, aggregate, child, ret] = writeKprobes(linux, [
      { addr: text('__x64_sys_kill'), pre: base + 0x40n, post: text('tcp4_seq_show') },
      { addr: text('tcp4_seq_show'), pre: text('aggr_pre_handler') },
      { addr: text('tcp4_seq_show'), pre: 0x1234_5000n },
      { addr: text('__x64_sys_getdents64'), ret: { handler: base + 0x80n } },
    ]);
    // The child hangs off the aggregate's list, not the hash table.
    linux.hlistDel(child!);
    linux.listInit(aggregate! + 16n);
    linux.listAddTail(aggregate! + 16n, child! + 16n);
    const { hooks, problems } = hooksOf(linux);
    expect(problems).toEqual([]);
    const summary = hooks.map((hook) => ({
      kind: hook.kind,
      object: hook.object,
      target: hook.targets[0]?.symbol,
      handlers: hook.handlers.map((h) => `${h.role}:${h.location.where}`),
    }));
    expect(summary).toEqual(
      expect.arrayContaining([
        {
          kind: 'kprobe',
          object: plain,
          target: '__x64_sys_kill+0x0',
          handlers: ['pre_handler:module', 'post_handler:kernel-text'],
        },
        {
          kind: 'kprobe',
          object: child,
          target: 'tcp4_seq_show+0x0',
          handlers: ['pre_handler:elsewhere'],
        },
        {
          kind: 'kretprobe',
          object: ret,
          target: '__x64_sys_getdents64+0x0',
          handlers: ['handler:module'],
        },
      ]),
    );
    expect(hooks).toHaveLength(3);
  });

  it('stops an ftrace_ops list that loops, with a problem', () => {
    const { linux, base } = world();
    const [first, second] = writeFtraceOps(linux, [{ func: base }, { func: base + 8n }]);
    linux.set64(second! + 8n, first!);
    const { hooks, problems } = hooksOf(linux);
    expect(hooks).toHaveLength(2);
    expect(problems).toEqual([
      expect.objectContaining({ message: expect.stringContaining('loops back') }),
    ]);
  });

  it('finds nothing on a kernel without ftrace or kprobes', () => {
    const { linux } = world();
    expect(hooksOf(linux)).toEqual({ hooks: [], problems: [] });
  });
});
