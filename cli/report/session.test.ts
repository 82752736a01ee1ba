// Findings written as ECS NDJSON (as the file sink writes them) read back into the session report:
// the round trip keeps what the page shows, bad lines are named, hostile strings stay text.
import { toJson } from '../../introspect/events/json.js';
import { toEcs } from '../../sinks/ecs/document.js';
import type { Finding } from '../../introspect/events/finding.js';
import { InputError } from '../../introspect/errors.js';
import { readEcsFindings } from './ecs-findings.js';
import { renderSession, sessionProcesses } from './session.js';

const HOSTILE = '<img src=x onerror=alert(1)>';
const observer = { hostname: 'here', version: '0' };

const finding = (pid: number, at: string, extra: Partial<Finding> = {}): Finding => ({
  id: `f${pid}`,
  timestamp: at,
  rule: { id: 'lnx-exec-from-writable-dir', name: 'Exec from /tmp', ruleset: 'starter' },
  severity: 'high',
  message: `exec of ${HOSTILE}`,
  mitre: [{ id: 'T1059', name: 'Command and Scripting Interpreter' }],
  host: { name: 'guest-a' },
  events: [
    {
      type: 'process.exec',
      domain: 'guest-a',
      time: 1,
      timestamp: at,
      process: {
        pid,
        name: HOSTILE,
        executable: '/tmp/.rk/sh',
        parent: { pid: 1, name: 'init' },
      },
      user: { id: 0, effective_id: 0 },
      vmi: { rip: 0xffffffff81000000n },
    },
  ],
  ...extra,
});

const ndjson = (findings: Finding[]) =>
  findings.map((f) => JSON.stringify(toEcs(f, observer))).join('\n') + '\n';

describe('readEcsFindings', () => {
  it('reads back rule, severity, guest, ATT&CK, process and VMI fields', () => {
    const { findings } = readEcsFindings(
      'f.ndjson',
      ndjson([finding(42, '2026-12-03T10:00:00.000Z')]),
    );
    expect(findings).toHaveLength(1);
    const [read] = findings;
    expect(read!.rule.id).toBe('lnx-exec-from-writable-dir');
    expect(read!.severity).toBe('high');
    expect(read!.host.name).toBe('guest-a');
    expect(read!.mitre).toEqual([{ id: 'T1059', name: 'Command and Scripting Interpreter' }]);
    expect(read!.events[0]!.process).toMatchObject({
      pid: 42,
      name: HOSTILE,
      executable: '/tmp/.rk/sh',
      parent: { pid: 1, name: 'init' },
    });
    expect(read!.events[0]!.vmi).toMatchObject({ rip: '0xffffffff81000000' });
  });

  it('names the line that is not a finding', () => {
    const text = `${ndjson([finding(1, '2026-12-03T10:00:00.000Z')])}{"rule":{}}\n`;
    expect(() => readEcsFindings('f.ndjson', text)).toThrow(InputError);
    expect(() => readEcsFindings('f.ndjson', text)).toThrow(
      'f.ndjson:2: not a Ringside ECS finding (no rule.id)',
    );
    expect(() => readEcsFindings('f.ndjson', '{oops\n')).toThrow('f.ndjson:1: not JSON');
  });

  it('reads Ringside’s own finding JSON (what `rules run` prints) beside ECS lines', () => {
    const text =
      toJson(finding(7, '2026-12-03T10:00:01.000Z')) +
      '\n' +
      ndjson([finding(8, '2026-12-03T10:00:02.000Z')]);
    const { findings } = readEcsFindings('f.ndjson', text);
    expect(findings.map((f) => f.id)).toEqual(['f7', 'f8']);
    expect(findings[0]!.events[0]!.process).toMatchObject({ pid: 7, name: HOSTILE });
    expect(findings[0]!.events[0]!.vmi?.rip).toBe(0xffffffff81000000n);
    expect(findings[0]!.mitre).toEqual([
      { id: 'T1059', name: 'Command and Scripting Interpreter' },
    ]);
  });

  it('names what is wrong in a native finding: a bad event, no severity, too many events', () => {
    const good = JSON.parse(toJson(finding(7, '2026-12-03T10:00:01.000Z'))) as Record<
      string,
      unknown
    >;
    const line = (change: Record<string, unknown>) => JSON.stringify({ ...good, ...change }) + '\n';
    expect(() => readEcsFindings('f.ndjson', line({ events: [{ type: 'nope' }] }))).toThrow(
      'f.ndjson:1: not a Ringside finding (events[0]: unknown event type "nope")',
    );
    expect(() => readEcsFindings('f.ndjson', line({ severity: 'dire' }))).toThrow(
      'f.ndjson:1: not a Ringside finding (no valid severity)',
    );
    const many = Array.from({ length: 1001 }, () => (good.events as unknown[])[0]);
    expect(() => readEcsFindings('f.ndjson', line({ events: many }))).toThrow(
      'events: expected 1 to 1000, found 1001',
    );
  });
});

describe('renderSession', () => {
  const findings = [
    finding(42, '2026-12-03T10:00:00.000Z'),
    finding(43, '2026-12-03T10:05:00.000Z', { id: 'f43', host: { name: 'guest-b' } }),
  ];

  it('places each process under its parent, first seen first', () => {
    const processes = sessionProcesses(findings);
    expect(processes.map((p) => [p.pid, p.ppid, p.start])).toEqual([
      [42, 1, 0],
      [1, 0, 0],
      [43, 1, 300],
    ]);
  });

  it('draws a lane per guest with marks linked to the findings, and escapes guest strings', () => {
    const page = renderSession({
      title: 't',
      source: 's',
      generated: 'now',
      findings,
      warnings: [],
    });
    expect(page.match(/class="lane"/g)).toHaveLength(2);
    expect(page).toMatch(/<a class="mark sev-high" data-slot="0" href="#finding-f42"/);
    expect(page).toMatch(/data-slot="100" href="#finding-f43"/);
    expect(page).not.toContain('<img');
  });
});
