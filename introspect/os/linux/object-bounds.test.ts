// Walks bounded by what memory can hold: forged chains of overlapping look-alike tasks ("sleds") stop
// at their second node, and a hostile array count in the types never drives a loop.
import { GuestStructureError } from '../../errors.js';
import { identitySpace } from '../../memory/test-support/identity-space.js';
import { KernelReader } from './kernel-reader.js';
import type { LinuxKernel } from './linux-kernel.js';
import { DisjointObjects, memoryCapacity } from './object-bounds.js';
import { runQueueView, taskListView } from './task-views.js';
import { FakeLinux, fakeLayout } from './test-support/fake-linux.js';
import { fakeTypes } from './test-support/fake-types.js';

describe('DisjointObjects', () => {
  it('accepts objects at least their size apart and the same object twice', () => {
    const objects = new DisjointObjects('task_struct', 0x400);
    objects.add(0x10000n);
    objects.add(0x10400n);
    objects.add(0x10000n);
    objects.add(0xf000n);
    expect(objects.overlapping(0x10800n)).toBeUndefined();
  });

  it('refuses an object overlapping another, in either direction', () => {
    const objects = new DisjointObjects('task_struct', 0x400);
    objects.add(0x10000n);
    expect(objects.overlapping(0x10010n)).toBe(0x10000n);
    expect(objects.overlapping(0xfc10n)).toBe(0x10000n);
    expect(() => objects.add(0x103ffn)).toThrow(GuestStructureError);
    expect(() => objects.add(0x103ffn)).toThrow(/overlaps the one at 0x10000 .*forged list/);
  });
});

describe('memoryCapacity', () => {
  it('is RAM divided by the struct size', () => {
    const reader = new KernelReader(
      identitySpace(new Uint8Array(1 << 20)),
      fakeTypes({ task_struct: { size: 0x400, fields: {} } }),
    );
    expect(memoryCapacity(reader, 'task_struct')).toBe(1024);
  });
});

describe('task views under forged structures', () => {
  it('a sled of look-alike tasks 16 bytes apart stops the task-list view at its second task', () => {
    const linux = new FakeLinux();
    linux.process(1, 'init');
    // 16,384 list nodes, 16 bytes apart, each pointing at the next; the last back to the head.
    const head = linux.initTask + BigInt(fakeLayout.task_struct!.fields.tasks!.offset);
    const sled = linux.alloc(256 << 10);
    const nodes = (256 << 10) / 16;
    const first = linux.get64(head);
    linux.set64(head, sled);
    for (let node = 0; node < nodes; node++)
      linux.set64(
        sled + BigInt(node * 16),
        node + 1 < nodes ? sled + BigInt((node + 1) * 16) : first,
      );
    const view = taskListView(linux.kernel());
    expect(view.tasks.size).toBeLessThanOrEqual(2);
    // The walks themselves are bounded by what 4 MiB can hold (4,096 tasks of 1 KiB).
    expect(view.problems.map((problem) => problem.message)).toEqual(
      expect.arrayContaining([
        'task list: the list has more than 4096 entries; stopped',
        expect.stringMatching(/overlaps task 0x[0-9a-f]+: a forged list; stopped/),
      ]),
    );
  });

  it('a run-queue array with 2^31 priorities is refused as corrupt types, not looped over', () => {
    const linux = new FakeLinux();
    const layout = structuredClone(fakeLayout);
    layout.rt_prio_array!.fields.queue!.count = 2 ** 31;
    const kernel = linux.kernel();
    const hostile = {
      ...kernel,
      reader: new KernelReader(kernel.reader.space, fakeTypes(layout)),
    } as LinuxKernel;
    const view = runQueueView(hostile);
    expect(view.problems.length).toBeGreaterThan(0);
    expect(view.problems[0]!.message).toMatch(/rt_prio_array\.queue has 2147483648 elements/);
  });
});
