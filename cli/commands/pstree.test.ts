// pstree over hostile task lists: a parent chain as deep as the task list allows must not overflow
// the stack, and a parent cycle must neither loop nor drop its tasks.
import type { TaskInfo } from '../../introspect/os/linux/tasks.js';
import { pstreeLines } from './snapshot.js';

const task = (pid: number, ppid: number, comm = `t${pid}`): TaskInfo => ({
  address: BigInt(pid) * 0x1000n,
  pid,
  tgid: pid,
  ppid,
  uid: 0,
  gid: 0,
  euid: 0,
  egid: 0,
  comm,
  startTime: 0n,
  kernelThread: false,
  mm: 0n,
});

describe('pstreeLines', () => {
  it('draws a small tree with branches', () => {
    expect(
      pstreeLines([task(1, 0, 'init'), task(2, 1, 'a'), task(3, 1, 'b'), task(4, 2, 'c')]),
    ).toEqual(['init (1, uid 0)', '├─ a (2, uid 0)', '│  └─ c (4, uid 0)', '└─ b (3, uid 0)']);
  });

  it('survives a parent chain 100,000 tasks deep (no recursion over hostile data)', () => {
    const chain = Array.from({ length: 100_000 }, (_, index) => task(index + 1, index));
    const lines = pstreeLines(chain);
    expect(lines).toHaveLength(100_000);
    expect(lines[0]).toBe('t1 (1, uid 0)');
  });

  it('lists every task of a parent cycle once', () => {
    const lines = pstreeLines([task(1, 0, 'init'), task(5, 6), task(6, 5)]);
    expect(lines).toHaveLength(3);
    expect(lines.filter((line) => line.includes('t5 (5'))).toHaveLength(1);
    expect(lines.filter((line) => line.includes('t6 (6'))).toHaveLength(1);
  });
});

describe('pstreeLines on a deep chain', () => {
  it('caps the indent and says the depth, so output stays linear in the task count', () => {
    const chain = Array.from({ length: 10_000 }, (_, index) => task(index + 1, index));
    const lines = pstreeLines(chain);
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThan(300);
    expect(lines[9_999]).toContain('[depth 9999] t10000 (10000, uid 0)');
  });
});
