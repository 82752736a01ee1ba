// Unit tests of the bpf-programs detector on a fake guest: a program calling bpf_probe_write_user is
// reported with its name, type, attach point and loader's uid; harmless programs are not.
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { FakeLinux } from '../../introspect/os/linux/test-support/fake-linux.js';
import {
  writeBpfPrograms,
  writeDescriptors,
} from '../../introspect/os/linux/test-support/fake-rootkit.js';
import { missingRequirements } from '../requirements.js';
import { collect, fakeGuest } from '../test-support/fake-guest.js';
import { bpfPrograms, createBpfPrograms } from './index.js';

function world() {
  const linux = new FakeLinux();
  const text = linux.kernelText(['__bpf_call_base', 'bpf_map_lookup_elem', 'bpf_probe_write_user']);
  return { linux, text: (name: string) => text.get(name)! };
}

describe('bpf-programs', () => {
  it('reports a program that calls bpf_probe_write_user, naming it and where it is attached', async () => {
    const { linux, text } = world();
    const [, writer] = writeBpfPrograms(linux, [
      { id: 1, type: 8, name: 'cgroup_filter', calls: [text('bpf_map_lookup_elem')], uid: 0 },
      {
        id: 2,
        type: 17,
        name: 'rk_write_user',
        calls: [text('bpf_probe_write_user')],
        uid: 0,
        rawTracepoint: 'sys_enter',
      },
    ]);
    const [loader] = linux.process(142, 'bpf-write-user');
    writeDescriptors(linux, loader!.task, [null, { prog: writer! }]);
    const events = await bpfPrograms.judge!({
      domain: 'dump',
      cpus: [],
      timestamp: '2026-12-03T10:00:00.000Z',
      kernel: linux.kernel(),
    });
    expect(events).toEqual([
      expect.objectContaining({
        type: 'integrity.violation',
        vmi: { symbol: 'raw_tracepoint:sys_enter', hook: 'bpf', gva: writer },
        user: { id: 0 },
        process: { pid: 142, name: 'bpf-write-user' },
        details: expect.objectContaining({
          check: 'bpf_program',
          message:
            'eBPF raw_tracepoint program rk_write_user (id 2, attached to raw_tracepoint:sys_enter) calls bpf_probe_write_user; held by bpf-write-user (pid 142)',
          program: expect.objectContaining({
            name: 'rk_write_user',
            helpers: ['bpf_probe_write_user'],
          }),
        }),
      }),
    ]);
  });

  it('reports live once per program while it is loaded', async () => {
    const { linux, text } = world();
    writeBpfPrograms(linux, [
      { id: 4, type: 2, name: 'kp', calls: [text('bpf_probe_write_user')] },
    ]);
    const guest = fakeGuest(linux);
    const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
    const { events, errors } = collect(
      createBpfPrograms({ intervalMs: 10, scheduler }).start(guest),
    );
    for (let round = 0; round < 3; round++) {
      scheduler.maxFrames += 10;
      scheduler.flush();
      for (let turn = 0; turn < 10; turn++) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(errors).toEqual([]);
    expect(events.map((event) => event.details?.message)).toEqual([
      'eBPF kprobe program kp (id 4, not attached by a link) calls bpf_probe_write_user',
    ]);
  });

  it('is refused on a kernel without prog_idr', () => {
    const { linux } = world();
    const guest = fakeGuest(linux);
    expect(missingRequirements(bpfPrograms, guest.kernel, guest.domain)).toEqual([
      'kernel symbol prog_idr is missing',
    ]);
  });
});
