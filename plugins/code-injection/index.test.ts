// Unit tests of the code-injection detector on a fake guest: an anonymous executable or a writable
// and executable mapping is reported (live on a virtual clock, once while it stands; and on a
// snapshot); file-backed code, the vDSO and kernel threads are not.
import { VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { FakeLinux } from '../../introspect/os/linux/test-support/fake-linux.js';
import {
  writeMappings,
  type FakeMapping,
} from '../../introspect/os/linux/test-support/fake-maple.js';
import { VM_EXEC, VM_READ, VM_WRITE } from '../../introspect/os/linux/vma-walk.js';
import { collect, fakeGuest } from '../test-support/fake-guest.js';
import { codeInjection, createCodeInjection } from './index.js';

const VDSO_OPS = 0x9000n;
const R = VM_READ;
const RX = VM_READ | VM_EXEC;
const RW = VM_READ | VM_WRITE;
const RWX = VM_READ | VM_WRITE | VM_EXEC;
const CLEAN: FakeMapping[] = [
  { start: 0x400000n, end: 0x401000n, flags: R, file: 0x1000n },
  { start: 0x401000n, end: 0x585000n, flags: RX, file: 0x1000n },
  { start: 0x1bf5b000n, end: 0x1bf7d000n, flags: RW },
  { start: 0x7ffd5f97b000n, end: 0x7ffd5f97d000n, flags: RX, ops: VDSO_OPS },
];
const INJECTED: FakeMapping = { start: 0x7f94d2bb7000n, end: 0x7f94d2bb8000n, flags: RWX };

function world(mappings: FakeMapping[]) {
  const linux = new FakeLinux();
  linux.symbols.set('special_mapping_vmops', VDSO_OPS);
  const [victim] = linux.process(116, 'sleep');
  const mm = linux.addressSpace(victim!.task, []);
  writeMappings(linux, mm, mappings);
  // A kernel thread borrowing an mm (kthread_use_mm) is no user process.
  const [worker] = linux.process(9, 'kworker/0:1');
  linux.setFlags(worker!.task, 0x0020_0000);
  linux.set64(worker!.task + linux.kernel().reader.offset('task_struct', 'mm'), mm);
  return { linux, mm };
}

const judge = (linux: FakeLinux) =>
  codeInjection.judge!({
    kernel: linux.kernel(),
    domain: 'g',
    cpus: [],
    timestamp: '2026-12-03T16:00:00.000Z',
  });

describe('code-injection on a snapshot', () => {
  it('reports an anonymous rwx mapping, naming the process and the mapping', async () => {
    const { linux } = world([...CLEAN.slice(0, 3), INJECTED, CLEAN[3]!]);
    expect(await judge(linux)).toEqual([
      expect.objectContaining({
        type: 'process.anomaly',
        process: expect.objectContaining({ pid: 116, name: 'sleep' }),
        details: expect.objectContaining({
          technique: 'code_injection',
          protection: 'rwx',
          anonymous: true,
          mapping_start: INJECTED.start,
          message: 'sleep (pid 116) has an anonymous rwx mapping at 0x7f94d2bb7000-0x7f94d2bb8000',
        }),
      }),
    ]);
  });

  it('reports anonymous r-x code and file-backed rwx, not file-backed code or the vDSO', async () => {
    const anonymousCode = { start: 0x7f0000000000n, end: 0x7f0000001000n, flags: RX };
    const writableText = { start: 0x7f0000002000n, end: 0x7f0000003000n, flags: RWX, file: 1n };
    const { linux } = world([...CLEAN.slice(0, 3), anonymousCode, writableText, CLEAN[3]!]);
    const events = await judge(linux);
    expect(events.map((event) => [event.details?.protection, event.details?.anonymous])).toEqual([
      ['r-x', true],
      ['rwx', false],
    ]);
  });

  it('is silent on a clean process', async () => {
    expect(await judge(world(CLEAN).linux)).toEqual([]);
  });
});

describe('code-injection, live', () => {
  it('reports a mapping that appears, once while it stands, again if it comes back', async () => {
    const { linux, mm } = world(CLEAN);
    const guest = fakeGuest(linux);
    const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
    const { events, errors } = collect(
      createCodeInjection({ intervalMs: 10, scheduler }).start(guest),
    );
    const tick = async (): Promise<void> => {
      scheduler.maxFrames += 10;
      scheduler.flush();
      for (let turn = 0; turn < 10; turn++) await new Promise((resolve) => setImmediate(resolve));
    };
    await tick();
    expect(events).toEqual([]);
    writeMappings(linux, mm, [...CLEAN.slice(0, 3), INJECTED, CLEAN[3]!]);
    await tick();
    await tick();
    expect(events.map((event) => event.details?.mapping_start)).toEqual([INJECTED.start]);
    // Confirmed with the guest paused before it is reported.
    expect(guest.domain.pauses).toBe(1);
    writeMappings(linux, mm, CLEAN);
    await tick();
    writeMappings(linux, mm, [...CLEAN.slice(0, 3), INJECTED, CLEAN[3]!]);
    await tick();
    expect(events).toHaveLength(2);
    expect(errors).toEqual([]);
  });
});
