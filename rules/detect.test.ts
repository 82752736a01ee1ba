import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { VmiEvent } from '../introspect/events/event.js';
import type { Finding } from '../introspect/events/finding.js';
import { findingId } from '../introspect/events/finding.js';
import { detect } from './detect.js';
import type { DetectorStats } from './detector.js';
import { exec, rulesFrom } from './test-support/index.js';

const ruleset = rulesFrom(`
- rule: Exec from tmp
  id: exec-tmp
  severity: high
  mitre: [T1059]
  condition: type = process.exec and process.executable startswith /tmp/
  output: "exec %process.executable pid %process.pid"
  fields: [process.pid]
- rule: Netcat
  id: nc
  severity: medium
  condition: type = process.exec and process.name = nc
`);

const fromTmp = exec(1, 'x', { process: { pid: 7, name: 'x', executable: '/tmp/x' } });
const benign = exec(2, 'ls');
const netcatFromTmp = exec(3, 'nc', { process: { pid: 8, name: 'nc', executable: '/tmp/nc' } });

const scheduler = (): TestScheduler =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('detect', () => {
  it('emits a finding per matching rule, in rule order, and completes with the source', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const events = cold<VmiEvent>('a-b-c---|', { a: fromTmp, b: benign, c: netcatFromTmp });
      const findings = events.pipe(detect(ruleset));
      const rule = (id: string): unknown =>
        expect.objectContaining({ rule: expect.objectContaining({ id }) });
      expectObservable(findings).toBe('a---(bc)|', {
        a: rule('exec-tmp'),
        b: rule('exec-tmp'),
        c: rule('nc'),
      });
    });
  });

  it('passes errors through', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const failure = new Error('backend gone');
      const findings = cold<VmiEvent>('a-#', { a: benign }, failure).pipe(detect(ruleset));
      expectObservable(findings).toBe('--#', undefined, failure);
    });
  });

  it('unsubscribes from the source when unsubscribed', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const events = hot<VmiEvent>('-a-a-a-a', { a: fromTmp });
      const findings = events.pipe(detect(ruleset));
      expectObservable(findings, '^--!').toBe('-a-', {
        a: expect.objectContaining({ rule: expect.objectContaining({ id: 'exec-tmp' }) }),
      });
      expectSubscriptions(events.subscriptions).toBe('^--!');
    });
  });

  it('builds a finding with message, techniques, evidence, host and a stable id', () => {
    const found: Finding[] = [];
    const source = new Subject<VmiEvent>();
    source.pipe(detect(ruleset)).subscribe((finding) => found.push(finding));
    source.next(fromTmp);
    source.complete();
    const [finding] = found;
    expect(finding).toMatchObject({
      timestamp: fromTmp.timestamp,
      rule: { id: 'exec-tmp', name: 'Exec from tmp' },
      severity: 'high',
      message: 'exec /tmp/x pid 7',
      mitre: [{ id: 'T1059' }],
      host: { name: 'guest' },
      events: [fromTmp],
      evidence: { 'process.pid': 7 },
    });
    const { id, ...rest } = finding!;
    expect(id).toBe(findingId(rest));
  });

  it('keeps correlation state per subscription and reports figures at the end', () => {
    const sequence = rulesFrom(`
- rule: Two
  severity: low
  sequence: { within: 10s, steps: [process.name = a, process.name = b] }
`);
    const stats: DetectorStats[] = [];
    const operator = detect(sequence, { onStats: (s) => stats.push(s) });
    const first = new Subject<VmiEvent>();
    const second = new Subject<VmiEvent>();
    const found: string[] = [];
    first.pipe(operator).subscribe((finding) => found.push(`1:${finding.rule.id}`));
    second.pipe(operator).subscribe((finding) => found.push(`2:${finding.rule.id}`));
    first.next(exec(0, 'a'));
    second.next(exec(1, 'b'));
    first.next(exec(2, 'b'));
    first.complete();
    second.complete();
    expect(found).toEqual(['1:two']);
    expect(stats.map((s) => [s.events, s.findings])).toEqual([
      [2, 1],
      [1, 0],
    ]);
  });

  it('turns an exception inside the engine into an error of the stream', () => {
    const errors: unknown[] = [];
    const source = new Subject<VmiEvent>();
    source.pipe(detect(ruleset)).subscribe({ error: (error) => errors.push(error) });
    const hostile = { type: 'process.exec', domain: 'g', time: 0 } as VmiEvent;
    Object.defineProperty(hostile, 'process', {
      get() {
        throw new Error('bad getter');
      },
    });
    source.next(hostile);
    expect(errors).toEqual([new Error('bad getter')]);
  });
});
