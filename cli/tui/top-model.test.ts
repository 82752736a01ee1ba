// The live view's data without a terminal: rates over the window, the tree grown by exec/exit events,
// findings newest first and flagged in the tree, hostile names escaped, bounds held.
import type { VmiEvent } from '../../introspect/events/event.js';
import type { Finding } from '../../introspect/events/finding.js';
import {
  EXITED_KEPT_MS,
  MAX_FINDINGS,
  MAX_PROCESSES,
  RATE_WINDOW_SECONDS,
  TopModel,
  TREE_MAX_DEPTH,
} from './top-model.js';

const exec = (pid: number, ppid: number, name: string, extra: object = {}): VmiEvent => ({
  type: 'process.exec',
  domain: 'g1',
  time: 0,
  process: { pid, ppid, name, executable: `/bin/${name}` },
  user: { id: 1000 },
  ...extra,
});

const finding = (
  pid: number,
  message: string,
  timestamp = '2026-12-03T15:00:01.000Z',
): Finding => ({
  id: `f-${pid}-${message}`,
  timestamp,
  rule: { id: 'lnx-test', name: 'test' },
  severity: 'high',
  message,
  mitre: [],
  host: { name: 'g1' },
  events: [exec(pid, 1, 'x')],
});

describe('TopModel', () => {
  it('shows a guest attached with its facts, seeded processes as a tree, kernel threads folded', () => {
    const model = new TopModel();
    model.attach({ name: 'g1', kernel: '6.1.0', architecture: 'x86_64', plugins: ['exec'] }, [
      { pid: 1, ppid: 0, uid: 0, comm: 'init', kernelThread: false },
      { pid: 2, ppid: 0, uid: 0, comm: 'kthreadd', kernelThread: true },
      { pid: 3, ppid: 2, uid: 0, comm: 'kworker/0:0', kernelThread: true },
      { pid: 4, ppid: 2, uid: 0, comm: 'ksoftirqd/0', kernelThread: true },
      { pid: 50, ppid: 1, uid: 0, comm: 'sh', kernelThread: false },
    ]);
    const view = model.view(1000);
    expect(view.guests).toEqual([
      expect.objectContaining({
        name: 'g1',
        kernel: '6.1.0',
        architecture: 'x86_64',
        plugins: 'exec',
        events: 0,
        processes: 5,
      }),
    ]);
    expect(view.tree.map((row) => [row.depth, row.pid, row.folded])).toEqual([
      [0, 1, 0],
      [1, 50, 0],
      [0, 2, 2],
    ]);
    expect(view.treeSize).toBe(3);
  });

  it('averages the event rate over the window and forgets seconds past it', () => {
    const model = new TopModel();
    for (let i = 0; i < 50; i++) model.event(exec(100 + i, 1, 'sh'), 5_000 + i);
    expect(model.view(5_999).guests[0]!.rate).toBe(50 / RATE_WINDOW_SECONDS);
    expect(model.view(5_000 + (RATE_WINDOW_SECONDS - 1) * 1000).guests[0]!.rate).toBe(
      50 / RATE_WINDOW_SECONDS,
    );
    expect(model.view(5_000 + RATE_WINDOW_SECONDS * 1000).guests[0]!.rate).toBe(0);
    // A long silence then one event: only that one counts.
    model.event(exec(999, 1, 'sh'), 100_000);
    const row = model.view(100_000).guests[0]!;
    expect(row.rate).toBe(1 / RATE_WINDOW_SECONDS);
    expect(row.events).toBe(51);
    expect(row.topTypes).toEqual(['process.exec 51']);
  });

  it('grows the tree from exec events, places unseen parents, marks and later drops exited ones', () => {
    const model = new TopModel();
    model.event(
      exec(10, 1, 'bash', { process: { pid: 10, parent: { pid: 1, name: 'init' }, name: 'bash' } }),
      0,
    );
    model.event(exec(11, 10, 'curl'), 1);
    model.event({ type: 'process.exit', domain: 'g1', time: 2, process: { pid: 11 } }, 2);
    let view = model.view(10);
    expect(
      view.tree.map(
        (row) => `${'.'.repeat(row.depth)}${row.pid} ${row.name}${row.exited ? ' x' : ''}`,
      ),
    ).toEqual(['1 init', '.10 bash', '..11 curl x']);
    view = model.view(2 + EXITED_KEPT_MS + 1);
    expect(view.tree.map((row) => row.pid)).toEqual([1, 10]);
  });

  it('lists findings newest first, at most MAX_FINDINGS, and flags their processes in the tree', () => {
    const model = new TopModel();
    model.event(exec(10, 1, 'sh'), 0);
    model.event(exec(11, 1, 'sh'), 0);
    for (let i = 0; i < MAX_FINDINGS + 5; i++) model.finding(finding(11, `m${i}`));
    const view = model.view(0);
    expect(view.findings).toHaveLength(MAX_FINDINGS);
    expect(view.findings[0]).toEqual({
      time: '15:00:01',
      guest: 'g1',
      severity: 'high',
      rule: 'lnx-test',
      message: `m${MAX_FINDINGS + 4}`,
    });
    expect(view.guests[0]!.findings).toBe(MAX_FINDINGS + 5);
    expect(view.tree.filter((row) => row.flagged).map((row) => row.pid)).toEqual([11]);
    expect(view.flaggedAt).toEqual([view.tree.findIndex((row) => row.pid === 11)]);
    // Row numbers are in the whole tree, whatever part of it is drawn.
    expect(model.view(0, 5, 1).flaggedAt).toEqual(view.flaggedAt);
  });

  it('escapes control characters in guest strings so they cannot drive the terminal', () => {
    const model = new TopModel();
    model.event(exec(10, 1, '\u001b[2J\u001b]0;pwn\u0007'), 0);
    model.finding(finding(10, 'bad\u001b[31mred'));
    const view = model.view(0);
    const row = view.tree.find((r) => r.pid === 10)!;
    expect(row.name).toBe('\\x1b[2J\\x1b]0;pwn\\x07');
    expect(view.findings[0]!.message).toBe('bad\\x1b[31mred');
    expect(JSON.stringify(view)).not.toContain('\u001b');
  });

  it('draws a 15,000-deep parent chain without recursion, capped in depth, and a parent cycle flat', () => {
    const model = new TopModel();
    for (let pid = 2; pid < 15_002; pid++) model.event(exec(pid, pid - 1, 'c'), 0);
    model.event(exec(30_001, 30_002, 'a'), 0);
    model.event(exec(30_002, 30_001, 'b'), 0);
    const view = model.view(0, 0, 30_000);
    expect(view.treeSize).toBe(15_002);
    expect(Math.max(...view.tree.map((row) => row.depth))).toBe(TREE_MAX_DEPTH);
    expect(
      view.tree
        .filter((row) => row.pid > 30_000)
        .map((row) => row.pid)
        .sort(),
    ).toEqual([30_001, 30_002]);
  });

  it('keeps at most MAX_PROCESSES per guest, exited ones dropped first, and scrolls the tree', () => {
    const model = new TopModel();
    model.event(exec(5, 1, 'gone'), 0);
    model.event({ type: 'process.exit', domain: 'g1', time: 0, process: { pid: 5 } }, 0);
    for (let pid = 10; pid < 10 + MAX_PROCESSES; pid++) model.event(exec(pid, 1, 'p'), 1);
    const view = model.view(1, 100, 10);
    expect(view.guests[0]!.processes).toBe(MAX_PROCESSES);
    expect(view.tree).toHaveLength(10);
    expect(view.tree.some((row) => row.pid === 5)).toBe(false);
    expect(view.treeSize).toBe(MAX_PROCESSES);
  });

  it('keeps the last five notices, escaped', () => {
    const model = new TopModel();
    for (let i = 0; i < 7; i++) model.notice(`n${i}\u001b`);
    expect(model.view(0).notices).toEqual(['n2\\x1b', 'n3\\x1b', 'n4\\x1b', 'n5\\x1b', 'n6\\x1b']);
  });

  it('counts a replayed trace under the name it was attached as, not its recorded domain', () => {
    const model = new TopModel();
    model.attach({ name: 'live' }, [
      { pid: 1, ppid: 0, uid: 0, comm: 'init', kernelThread: false },
    ]);
    model.attach({ name: 'replayed' });
    // The trace was recorded on g1 (exec's domain), shown as 'replayed'.
    model.event(exec(10, 1, 'miner'), 5_000, 'replayed');
    model.finding(finding(10, 'miner in /tmp'), 'replayed');
    model.event({ ...exec(20, 1, 'sh'), domain: 'live' }, 5_000);
    const view = model.view(5_000);
    expect(view.guests.map((guest) => [guest.name, guest.events, guest.findings])).toEqual([
      ['live', 1, 0],
      ['replayed', 1, 1],
    ]);
    expect(view.findings.map((row) => row.guest)).toEqual(['replayed']);
    expect(view.tree.filter((row) => row.flagged).map((row) => [row.guest, row.pid])).toEqual([
      ['replayed', 10],
    ]);
    expect(view.guests.some((guest) => guest.name === 'g1')).toBe(false);
  });
});
