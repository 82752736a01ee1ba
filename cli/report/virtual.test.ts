// The data the page draws its large parts from: JSON blocks that no guest string can close, the tree
// rows in depth-first order (capped, cycle-safe), the event list and the timeline lanes; session
// events read from NDJSON and the process tree they grew.
import type { Finding } from '../../introspect/events/finding.js';
import { readEcsFindings } from './ecs-findings.js';
import type { ReportProcess } from './model.js';
import { renderReport, TREE_MAX_DEPTH } from './render.js';
import { renderSession } from './session.js';
import { eventFromNdjson, grownProcesses, sessionEvent } from './session-events.js';
import { syntheticSession } from './test-support/synthetic-session.js';
import {
  jsonBlock,
  renderEventList,
  renderZoomableTimeline,
  ROW_FLAGGED,
  ROW_HIDDEN,
  treeRows,
  VIRTUAL_TREE_THRESHOLD,
} from './virtual.js';

const proc = (pid: number, ppid: number, extra: Partial<ReportProcess> = {}): ReportProcess => ({
  pid,
  ppid,
  uid: 0,
  comm: `p${pid}`,
  start: 1,
  task: '',
  kernelThread: false,
  hidden: false,
  missingFrom: [],
  ...extra,
});

const finding = (pid: number): Finding => ({
  id: `f${pid}`,
  timestamp: '2026-12-03T10:00:05.000Z',
  rule: { id: 'lnx-x', name: 'x' },
  severity: 'high',
  message: 'm',
  mitre: [],
  host: { name: 'g' },
  events: [{ type: 'process.exec', domain: 'g', time: 0, process: { pid } }],
});

/** The JSON of a block, as the page's JSON.parse reads it. */
const blockData = (html: string, id: string): unknown => {
  const match = new RegExp(`<script type="application/json" id="${id}">(.*?)</script>`, 's').exec(
    html,
  );
  if (!match) throw new Error(`no block ${id}`);
  return JSON.parse(match[1]!);
};

describe('jsonBlock', () => {
  it('cannot be closed by a guest string, and reads back the same value', () => {
    const value = { name: '</script><script>alert(1)</script>', other: '<!--' };
    const html = jsonBlock('d', value).text;
    expect(html.match(/<\/script>/g)).toHaveLength(1);
    expect(html).not.toContain('<!--');
    expect(blockData(html, 'd')).toEqual(value);
  });
});

describe('treeRows', () => {
  it('lists the tree depth first with flags, badges and child counts', () => {
    const rows = treeRows(
      [
        proc(1, 0),
        proc(20, 1),
        proc(10, 1, { hidden: true, missingFrom: ['taskList'] }),
        proc(11, 10),
      ],
      [finding(11)],
    );
    expect(rows.map((row) => [row[0], row[1], row[9]])).toEqual([
      [0, 1, 2],
      [1, 10, 1],
      [2, 11, 0],
      [1, 20, 0],
    ]);
    expect(rows[1]![6] & ROW_HIDDEN).toBe(ROW_HIDDEN);
    expect(rows[1]![8]).toBe('taskList');
    expect(rows[2]![6] & ROW_FLAGGED).toBe(ROW_FLAGGED);
    expect(rows[2]![7]).toEqual([['finding-f11', 'high', 'lnx-x']]);
  });

  it('walks a 20,000-deep chain without recursion, capped, and lists a parent cycle', () => {
    const chain = Array.from({ length: 20_000 }, (_, index) => proc(index + 1, index));
    const rows = treeRows([...chain, proc(30_001, 30_002), proc(30_002, 30_001)], []);
    expect(rows).toHaveLength(20_002);
    expect(Math.max(...rows.map((row) => row[0]))).toBe(TREE_MAX_DEPTH);
    expect(rows.slice(-2).map((row) => row[1])).toEqual([30_001, 30_002]);
  });
});

describe('large reports', () => {
  const session = syntheticSession(10_000, 100_000, 40);

  it('draw a tree above the threshold from data, not as 10,000 elements', () => {
    const page = renderReport({
      title: 't',
      generated: 'now',
      facts: [],
      processes: session.processes,
      modules: [],
      syscalls: [],
      idt: [],
      findings: session.findings,
      warnings: [],
    });
    expect(session.processes.length).toBeGreaterThan(VIRTUAL_TREE_THRESHOLD);
    expect(page).toContain('class="vlist vtree"');
    expect(page.match(/class="proc[ "]/g)).toBeNull();
    expect(blockData(page, 'tree-rows')).toHaveLength(10_000);
    expect(page.length).toBeLessThan(2 * 1024 * 1024);
  });

  it('give a session its timeline lanes, its events oldest first and the tree its execs grew', () => {
    const page = renderSession({
      title: 't',
      source: 's',
      generated: 'now',
      findings: session.findings,
      events: session.events,
      warnings: [],
    });
    const timeline = blockData(page, 'timeline-data') as {
      lanes: { name: string; events: number[]; findings: unknown[] }[];
    };
    expect(timeline.lanes.map((lane) => lane.name).sort()).toEqual(['db1', 'web1']);
    expect(timeline.lanes.reduce((sum, lane) => sum + lane.events.length, 0)).toBe(100_000);
    expect(timeline.lanes.reduce((sum, lane) => sum + lane.findings.length, 0)).toBe(40);
    const events = blockData(page, 'event-rows') as { rows: [number][] };
    expect(events.rows).toHaveLength(100_000);
    expect(
      events.rows.every((row, index) => index === 0 || row[0] >= events.rows[index - 1]![0]),
    ).toBe(true);
    expect(blockData(page, 'tree-rows')).toHaveLength(10_000);
    expect(page).toContain('Processes as they were started');
  });
});

describe('session events', () => {
  it('reads the monitor’s event lines mixed with findings, and refuses what is neither', () => {
    const event = {
      type: 'process.exec',
      domain: 'web1',
      time: 12.5,
      timestamp: '2026-12-03T10:00:00.000Z',
      process: { pid: 42, parent: { pid: 1, name: 'init' }, name: 'sh', executable: '/bin/sh' },
      user: { id: 1000 },
      registers: { rip: '0xffffffff81000000' },
    };
    expect(eventFromNdjson(event)).toEqual({
      time: Date.parse('2026-12-03T10:00:00.000Z'),
      guest: 'web1',
      type: 'process.exec',
      pid: 42,
      ppid: 1,
      uid: 1000,
      name: 'sh',
      executable: '/bin/sh',
    });
    expect(eventFromNdjson({ type: 'x' })).toBeUndefined();
    expect(eventFromNdjson({ ...event, rule: { id: 'r' } })).toBeUndefined();
    const read = readEcsFindings('f.ndjson', `${JSON.stringify(event)}\n`);
    expect(read.events).toHaveLength(1);
    expect(read.findings).toHaveLength(0);
    expect(() => readEcsFindings('f.ndjson', `${JSON.stringify({ type: 1 })}\n`)).toThrow(
      'f.ndjson:1',
    );
  });

  it('grows the tree from execs: first start kept, the latest image shown, named ones added', () => {
    const origin = Date.parse('2026-12-03T10:00:00.000Z');
    const exec = (pid: number, ppid: number, name: string, at: number) =>
      sessionEvent(
        {
          type: 'process.exec',
          domain: 'g',
          time: 0,
          timestamp: new Date(origin + at).toISOString(),
          process: { pid, ppid, name, executable: `/bin/${name}` },
        },
        0,
      );
    const grown = grownProcesses(
      [exec(10, 1, 'sh', 1000), exec(10, 1, 'curl', 3000), exec(11, 10, 'id', 2000)],
      [proc(99, 1, { hidden: true }), proc(11, 10, { hidden: true })],
      origin,
    );
    expect(grown.map((p) => [p.pid, p.ppid, p.comm, p.start, p.executable, p.hidden])).toEqual([
      [10, 1, 'curl', 1, '/bin/curl', false],
      [11, 10, 'id', 2, '/bin/id', true],
      [99, 1, 'p99', 1, undefined, true],
    ]);
  });

  it('draws nothing for an empty timeline and an event list for one event', () => {
    expect(renderZoomableTimeline([], [], 0).text).toContain('nothing happened');
    const html = renderEventList([{ time: 5, guest: '<g>', type: 'process.exit', pid: 3 }], 0).text;
    expect(blockData(html, 'event-rows')).toEqual({
      origin: 0,
      guests: ['<g>'],
      rows: [[5, 0, 'process.exit', 3, '', '']],
    });
  });
});
