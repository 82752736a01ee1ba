import type { Finding } from '../introspect/events/finding.js';
import { DiagnosticBag } from './diagnostics.js';
import { checkTestCase, formatTestResult, parseTestFile } from './testing.js';

const finding = (rule: string, message: string, pid: number): Finding => ({
  id: `${rule}-${pid}`,
  timestamp: '2026-01-01T00:00:00.000Z',
  rule: { id: rule, name: rule },
  severity: 'high',
  message,
  mitre: [],
  host: { name: 'g' },
  events: [{ type: 'process.exec', domain: 'g', time: pid, process: { pid, task: 0x10n } }],
});

describe('parseTestFile', () => {
  it('reads cases with trace or inline events, expectations and absences', () => {
    const bag = new DiagnosticBag();
    const cases = parseTestFile(
      't.tests.yaml',
      `
- test: one
  trace: ../traces/a.ndjson
  expect:
    - r1
    - { rule: r2, count: 2, message: hi, fields: { process.pid: 7, process.task: 0x10 } }
  absent: [r3]
  exclusive: true
- test: two
  events:
    - { type: process.exec, domain: g, time: 1, process: { task: 0xffff888003a00000 } }
  absent: [r1]
`,
      bag,
    );
    expect(bag.items).toEqual([]);
    expect(
      cases.map((c) => [
        c.name,
        c.trace,
        c.events?.length,
        c.expect.map((e) => [e.rule, e.count, e.message, e.fields]),
        c.absent.map((a) => a.rule),
        c.exclusive,
      ]),
    ).toEqual([
      [
        'one',
        '../traces/a.ndjson',
        undefined,
        [
          ['r1', undefined, undefined, {}],
          ['r2', 2, 'hi', { 'process.pid': '7', 'process.task': '0x10' }],
        ],
        ['r3'],
        true,
      ],
      ['two', undefined, 1, [], ['r1'], false],
    ]);
    expect(cases[1]!.events![0]!.process!.task).toBe(0xffff888003a00000n);
  });

  it('reports malformed cases with codes and positions', () => {
    const bag = new DiagnosticBag();
    parseTestFile(
      't.tests.yaml',
      `- test: no input
  expect: [r1]
- test: both
  trace: a
  events: []
  expect: [r1]
- test: nothing expected
  trace: a
- test: bad event
  events:
    - { type: nope, domain: g, time: 1 }
  expect: [r1]
  colour: red
- 3
`,
      bag,
    );
    expect(bag.items.map((d) => `${d.at.line}:${d.at.col} ${d.severity} ${d.code}`)).toEqual([
      '1:3 error MISSING_KEY',
      '3:3 error MISSING_KEY',
      '7:3 error MISSING_KEY',
      '13:3 error UNKNOWN_KEY',
      '11:7 error BAD_VALUE',
      '14:3 error BAD_ITEM',
    ]);
  });
});

describe('checkTestCase', () => {
  const bag = new DiagnosticBag();
  const [test] = parseTestFile(
    't.tests.yaml',
    '- test: t\n  trace: x\n  expect:\n    - { rule: r1, count: 1, fields: { process.pid: 2 } }\n  absent: [r2]\n',
    bag,
  );

  it('passes when the findings are as expected', () => {
    const result = checkTestCase(test!, [finding('r1', 'm', 2)], new Set(['r1', 'r2']));
    expect(result.failures).toEqual([]);
    expect(formatTestResult(result)).toBe('ok   t (t.tests.yaml:1:3)');
  });

  it('explains each failure', () => {
    const result = checkTestCase(
      test!,
      [finding('r1', 'm', 3), finding('r2', 'oops', 4)],
      new Set(['r1', 'r2']),
    );
    expect(result.passed).toBe(false);
    expect(formatTestResult(result).split('\n')).toEqual([
      'FAIL t (t.tests.yaml:1:3)',
      '    fields of r1 (t.tests.yaml:4:7), compared with its closest finding:',
      '      - process.pid: 2',
      '      + process.pid: 3',
      '    r2 should not fire (t.tests.yaml:5:12), but did:',
      '      + r2 (high) at time 4: oops',
      '    findings in this trace:',
      '      r1 (high) at time 3: m',
      '      r2 (high) at time 4: oops',
    ]);
  });

  it('names expectations about rules that do not exist', () => {
    expect(checkTestCase(test!, [finding('r1', 'm', 2)], new Set(['r1'])).failures).toEqual([
      "no enabled rule has the id 'r2'",
    ]);
  });
});
