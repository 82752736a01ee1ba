// Unit tests of the eBPF program listing on the fake kernel: programs from prog_idr with type, name,
// tag, uid, the helpers their instructions call and their links; what can tamper; bounded reads.
import { FakeLinux } from './test-support/fake-linux.js';
import { writeBpfPrograms, writeDescriptors } from './test-support/fake-rootkit.js';
import { bpfHolders, listBpfPrograms, tamperingReasons } from './bpf-programs.js';

function world() {
  const linux = new FakeLinux();
  const text = linux.kernelText([
    '__bpf_call_base',
    'bpf_map_lookup_elem',
    'bpf_probe_write_user',
    'bpf_override_return',
    'bpf_get_current_pid_tgid',
  ]);
  return { linux, text: (name: string) => text.get(name)! };
}

describe('listBpfPrograms', () => {
  it('lists each program with its type, name, tag, uid, helpers and links', () => {
    const { linux, text } = world();
    const [filter, writer, lsm] = writeBpfPrograms(linux, [
      { id: 3, type: 8, name: 'cgroup_filter', calls: [text('bpf_map_lookup_elem')], uid: 0 },
      {
        id: 7,
        type: 17,
        name: 'rk_write_user',
        tag: 'd786198ad6d1aaa8',
        calls: [text('bpf_get_current_pid_tgid'), text('bpf_probe_write_user')],
        uid: 1000,
        rawTracepoint: 'sys_enter',
      },
      { id: 9, type: 29, name: 'deny_open', attachTo: 'file_open' },
    ]);
    const { programs, problems } = listBpfPrograms(linux.kernel());
    expect(problems).toEqual([]);
    expect(programs).toEqual([
      expect.objectContaining({
        id: 3,
        address: filter,
        typeName: 'cgroup_skb',
        name: 'cgroup_filter',
        helpers: ['bpf_map_lookup_elem'],
        uid: 0,
        links: [],
      }),
      expect.objectContaining({
        id: 7,
        address: writer,
        type: 17,
        typeName: 'raw_tracepoint',
        tag: 'd786198ad6d1aaa8',
        jited: true,
        instructions: 4,
        helpers: ['bpf_get_current_pid_tgid', 'bpf_probe_write_user'],
        uid: 1000,
        links: ['raw_tracepoint:sys_enter'],
      }),
      expect.objectContaining({ id: 9, address: lsm, typeName: 'lsm', attachTo: 'file_open' }),
    ]);
    expect(programs.map(tamperingReasons)).toEqual([
      [],
      ['calls bpf_probe_write_user'],
      ['is an LSM program on file_open'],
    ]);
  });

  it('names a type the kernel’s enum does not know by its number', () => {
    const { linux } = world();
    writeBpfPrograms(linux, [{ id: 1, type: 250, name: 'odd' }]);
    expect(listBpfPrograms(linux.kernel()).programs[0]!.typeName).toBe('type 250');
  });

  it('keeps reading past a program it cannot read, and bounds what it decodes of a huge one', () => {
    const { linux, text } = world();
    const [broken, huge] = writeBpfPrograms(linux, [
      { id: 1, type: 2, name: 'broken' },
      { id: 2, type: 2, name: 'huge', calls: [text('bpf_override_return')] },
    ]);
    linux.set64(broken! + 56n, 0xdead_0000_0000n); // aux points nowhere
    linux.set32(huge! + 12n, 0xffff_ffff); // len
    const { programs, problems } = listBpfPrograms(linux.kernel());
    expect(problems).toEqual([
      expect.objectContaining({ address: broken, message: expect.stringContaining('bpf_prog') }),
    ]);
    expect(programs).toEqual([
      expect.objectContaining({
        name: 'huge',
        helpers: ['bpf_override_return'],
        helpersPartial: true,
      }),
    ]);
    expect(tamperingReasons(programs[0]!)).toEqual(['calls bpf_override_return']);
  });

  it('lists nothing on a kernel without prog_idr', () => {
    expect(listBpfPrograms(new FakeLinux().kernel())).toEqual({ programs: [], problems: [] });
  });

  it('attributes programs to the processes holding them, by a descriptor of the program or of a link', () => {
    const { linux, text } = world();
    const [writer, other] = writeBpfPrograms(linux, [
      { id: 1, type: 17, name: 'rk', calls: [text('bpf_probe_write_user')] },
      { id: 2, type: 8, name: 'filter' },
    ]);
    const [loader] = linux.process(142, 'bpf-write-user');
    const [agent] = linux.process(150, 'agent');
    writeDescriptors(linux, loader!.task, [null, null, null, { prog: writer! }, { link: writer! }]);
    writeDescriptors(linux, agent!.task, [{ prog: other! }]);
    const holders = bpfHolders(linux.kernel(), new Set([writer!]));
    expect([...holders]).toEqual([
      [
        writer,
        [
          { pid: 142, name: 'bpf-write-user', via: 'prog' },
          { pid: 142, name: 'bpf-write-user', via: 'link' },
        ],
      ],
    ]);
  });

  it('skips a process whose descriptor table it cannot read', () => {
    const { linux } = world();
    const [prog] = writeBpfPrograms(linux, [{ id: 1, type: 2, name: 'kp' }]);
    const [broken] = linux.process(7, 'broken');
    const [holder] = linux.process(8, 'holder');
    writeDescriptors(linux, broken!.task, [{ prog: prog! }]);
    linux.set64(broken!.task + 0x340n, 0xdead_0000_0000n);
    writeDescriptors(linux, holder!.task, [{ prog: prog! }]);
    expect(bpfHolders(linux.kernel(), new Set([prog!])).get(prog!)).toEqual([
      { pid: 8, name: 'holder', via: 'prog' },
    ]);
  });
});
