// Rule tests: cases that live beside rules (`*.tests.yaml`), each a trace plus the findings expected
// or expected to be absent. Parsing and checking are pure; reading the trace is the caller's job.
import { isMap, isScalar, isSeq } from 'yaml';
import type { Node } from 'yaml';
import type { VmiEvent } from '../introspect/events/event.js';
import type { Finding } from '../introspect/events/finding.js';
import { EVENT_FIELDS } from '../introspect/events/fields.js';
import { decodeTraceEvent } from '../introspect/events/trace.js';
import { fieldGetter } from './access.js';
import type { DiagnosticBag } from './diagnostics.js';
import type { Location } from './types.js';
import { nodeValue, YamlReader } from './yaml-reader.js';

export interface FindingExpectation {
  rule: string;
  /** Exactly this many findings; undefined: at least one. */
  count: number | undefined;
  /** Some finding of the rule has exactly this message. */
  message: string | undefined;
  /** Some finding of the rule has these values on its last event (compared as text). */
  fields: Record<string, string>;
  at: Location;
}

export interface RuleTestCase {
  name: string;
  file: string;
  /** Path of the trace as written (relative to the test file), or undefined for inline events. */
  trace: string | undefined;
  events: VmiEvent[] | undefined;
  expect: FindingExpectation[];
  absent: { rule: string; at: Location }[];
  /** Fail on findings of rules that are not expected. */
  exclusive: boolean;
  at: Location;
}

export interface RuleTestResult {
  test: RuleTestCase;
  passed: boolean;
  /** One readable paragraph per failed expectation. */
  failures: string[];
  findings: Finding[];
}

const CASE_KEYS = new Set(['test', 'trace', 'events', 'expect', 'absent', 'exclusive']);
const EXPECT_KEYS = new Set(['rule', 'count', 'message', 'fields']);

/** JSON-ready value of a YAML node: big integers as 0x strings (addresses), others as numbers. */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint')
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(value)
      : `0x${value.toString(16)}`;
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, plain(inner)]));
  return value;
}

export function parseTestFile(file: string, text: string, bag: DiagnosticBag): RuleTestCase[] {
  const reader = new YamlReader(file, text, bag);
  const locate = (node: Node | null | undefined): Location => reader.at(node);
  const cases: RuleTestCase[] = [];
  for (const { contents } of reader.documents()) {
    if (contents === null) continue;
    if (!isSeq(contents)) {
      bag.error('BAD_ITEM', 'a test file is a YAML list of test cases', locate(contents));
      continue;
    }
    for (const item of contents.items as Node[]) {
      if (!isMap(item) || !item.has('test')) {
        bag.error(
          'BAD_ITEM',
          "each test case is a mapping with 'test', 'trace' or 'events', 'expect' and 'absent'",
          locate(item),
        );
        continue;
      }
      const at = locate(item);
      const get = (key: string): Node | null | undefined =>
        item.get(key, true) as Node | null | undefined;
      reader.checkKeys(reader.entries(item), CASE_KEYS, 'a test case');
      const name = String((get('test') as { value?: unknown } | null)?.value ?? '');
      const traceNode = get('trace');
      const eventsNode = get('events');
      let events: VmiEvent[] | undefined;
      if ((traceNode === undefined) === (eventsNode === undefined)) {
        bag.error(
          'MISSING_KEY',
          `test '${name}' needs either 'trace' (a file) or 'events' (inline)`,
          at,
        );
        continue;
      }
      if (eventsNode !== undefined && eventsNode !== null) {
        if (!isSeq(eventsNode)) {
          bag.error('BAD_VALUE', "'events' must be a list of events", locate(eventsNode));
          continue;
        }
        events = [];
        for (const [index, eventNode] of (eventsNode.items as Node[]).entries()) {
          try {
            events.push(
              decodeTraceEvent(
                JSON.stringify(plain(nodeValue(eventNode))),
                file,
                locate(eventNode).line,
              ),
            );
          } catch (error) {
            bag.error(
              'BAD_VALUE',
              `event ${index + 1}: ${(error as Error).message}`,
              locate(eventNode),
            );
          }
        }
      }
      const trace =
        isScalar(traceNode) && typeof traceNode.value === 'string' ? traceNode.value : undefined;
      if (traceNode !== undefined && trace === undefined)
        bag.error('BAD_VALUE', "'trace' must be a path", locate(traceNode));
      const expectations: FindingExpectation[] = [];
      const expectNode = get('expect');
      if (expectNode !== undefined && expectNode !== null) {
        if (!isSeq(expectNode))
          bag.error('BAD_VALUE', "'expect' must be a list", locate(expectNode));
        else
          for (const entry of expectNode.items as Node[]) {
            if (isScalar(entry)) {
              expectations.push({
                rule: String(entry.value),
                count: undefined,
                message: undefined,
                fields: {},
                at: locate(entry),
              });
              continue;
            }
            if (!isMap(entry) || !entry.has('rule')) {
              bag.error(
                'BAD_VALUE',
                "an expectation is a rule id or a mapping with 'rule'",
                locate(entry),
              );
              continue;
            }
            reader.checkKeys(reader.entries(entry), EXPECT_KEYS, 'an expectation');
            const json = nodeValue(entry) as Record<string, unknown>;
            const count = json.count === undefined ? undefined : Number(json.count);
            if (count !== undefined && (!Number.isInteger(count) || count < 0))
              bag.error(
                'BAD_VALUE',
                "'count' must be a non-negative integer",
                locate(entry.get('count', true) as Node),
              );
            const fields: Record<string, string> = {};
            if (json.fields !== undefined) {
              if (typeof json.fields !== 'object' || json.fields === null)
                bag.error('BAD_VALUE', "'fields' must map field names to values", locate(entry));
              else
                for (const [field, value] of Object.entries(json.fields as Record<string, unknown>))
                  fields[field] = expectedText(field, value);
            }
            expectations.push({
              rule: String(json.rule),
              count,
              message: json.message === undefined ? undefined : String(json.message),
              fields,
              at: locate(entry),
            });
          }
      }
      const absent: RuleTestCase['absent'] = [];
      const absentNode = get('absent');
      if (absentNode !== undefined && absentNode !== null) {
        if (!isSeq(absentNode))
          bag.error('BAD_VALUE', "'absent' must be a list of rule ids", locate(absentNode));
        else
          for (const entry of absentNode.items as Node[])
            absent.push({ rule: String((entry as { value?: unknown }).value), at: locate(entry) });
      }
      if (expectations.length === 0 && absent.length === 0)
        bag.error('MISSING_KEY', `test '${name}' expects nothing: give 'expect' or 'absent'`, at);
      const exclusive = (get('exclusive') as { value?: unknown } | undefined)?.value === true;
      cases.push({ name, file, trace, events, expect: expectations, absent, exclusive, at });
    }
  }
  return cases;
}

/** An expected field value as text, as `show` renders the actual one (addresses in hex). */
function expectedText(field: string, value: unknown): string {
  if (typeof value === 'bigint' || typeof value === 'number')
    return EVENT_FIELDS[field]?.type === 'address'
      ? `0x${BigInt(value).toString(16)}`
      : String(value);
  return String(value);
}

function show(value: unknown): string {
  if (value === undefined || value === null) return '(absent)';
  if (typeof value === 'bigint') return `0x${value.toString(16)}`;
  if (Array.isArray(value)) return value.map(show).join(' ');
  return String(value);
}

function describeFinding(finding: Finding): string {
  const last = finding.events[finding.events.length - 1];
  return `${finding.rule.id} (${finding.severity}) at time ${last?.time ?? '?'}: ${finding.message}`;
}

/** Checks the findings of one run against a case's expectations. */
export function checkTestCase(
  test: RuleTestCase,
  findings: Finding[],
  knownRules: ReadonlySet<string>,
): RuleTestResult {
  const failures: string[] = [];
  const byRule = (rule: string): Finding[] =>
    findings.filter((finding) => finding.rule.id === rule);
  const unknown = [...test.expect.map((e) => e.rule), ...test.absent.map((a) => a.rule)].filter(
    (rule) => !knownRules.has(rule),
  );
  for (const rule of new Set(unknown)) failures.push(`no enabled rule has the id '${rule}'`);
  for (const expectation of test.expect) {
    const found = byRule(expectation.rule);
    const where = `${expectation.at.file}:${expectation.at.line}:${expectation.at.col}`;
    if (expectation.count !== undefined ? found.length !== expectation.count : found.length === 0) {
      failures.push(
        [
          `findings of ${expectation.rule} (${where}):`,
          `  - expected: ${expectation.count === undefined ? 'at least 1' : expectation.count}`,
          `  + actual:   ${found.length}`,
        ].join('\n'),
      );
      continue;
    }
    if (
      expectation.message !== undefined &&
      !found.some((finding) => finding.message === expectation.message)
    ) {
      failures.push(
        [
          `message of ${expectation.rule} (${where}):`,
          `  - expected: ${expectation.message}`,
          ...found.map((finding) => `  + actual:   ${finding.message}`),
        ].join('\n'),
      );
    }
    const fields = Object.entries(expectation.fields);
    if (fields.length > 0) {
      const valuesOf = (finding: Finding): string[] =>
        fields.map(([field]) =>
          show(fieldGetter(field)(finding.events[finding.events.length - 1]!)),
        );
      const matches = (finding: Finding): boolean =>
        valuesOf(finding).every((value, index) => value === fields[index]![1]);
      if (!found.some(matches)) {
        // Compare with the finding that agrees on the most fields: the one the author most likely meant.
        const score = (finding: Finding): number =>
          valuesOf(finding).filter((value, index) => value === fields[index]![1]).length;
        const closest = found.reduce((best, finding) =>
          score(finding) > score(best) ? finding : best,
        );
        const actual = valuesOf(closest);
        const lines = [
          `fields of ${expectation.rule} (${where}), compared with its closest finding:`,
        ];
        fields.forEach(([field, expected], index) => {
          if (actual[index] === expected) lines.push(`    ${field}: ${expected}`);
          else lines.push(`  - ${field}: ${expected}`, `  + ${field}: ${actual[index]}`);
        });
        failures.push(lines.join('\n'));
      }
    }
  }
  for (const absent of test.absent) {
    const found = byRule(absent.rule);
    if (found.length > 0)
      failures.push(
        [
          `${absent.rule} should not fire (${absent.at.file}:${absent.at.line}:${absent.at.col}), but did:`,
          ...found.map((f) => `  + ${describeFinding(f)}`),
        ].join('\n'),
      );
  }
  if (test.exclusive) {
    const expected = new Set(test.expect.map((e) => e.rule));
    const extra = findings.filter((finding) => !expected.has(finding.rule.id));
    if (extra.length > 0)
      failures.push(
        [
          'unexpected findings (exclusive: true):',
          ...extra.map((f) => `  + ${describeFinding(f)}`),
        ].join('\n'),
      );
  }
  return { test, passed: failures.length === 0, failures, findings };
}

export function formatTestResult(result: RuleTestResult): string {
  const { test } = result;
  const head = `${result.passed ? 'ok  ' : 'FAIL'} ${test.name} (${test.at.file}:${test.at.line}:${test.at.col})`;
  if (result.passed) return head;
  const body = result.failures.flatMap((failure) =>
    failure.split('\n').map((line) => `    ${line}`),
  );
  const seen =
    result.findings.length === 0
      ? ['    (no findings in this trace)']
      : [
          '    findings in this trace:',
          ...result.findings.map((f) => `      ${describeFinding(f)}`),
        ];
  return [head, ...body, ...seen].join('\n');
}
