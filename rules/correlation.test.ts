import type { VmiEvent } from '../introspect/events/event.js';
import type { Finding } from '../introspect/events/finding.js';
import { Detector } from './detector.js';
import { exec, rulesFrom } from './test-support/index.js';

const SEQUENCE = `
- rule: Shell then module
  severity: high
  output: "%process.name then %module.name"
  sequence:
    by: [domain, process.pid]
    within: 1s
    max_keys: 3
    steps:
      - name: shell
        condition: type = process.exec and process.name = bash
      - name: load
        condition: type = module.load
`;

const moduleLoad = (time: number, pid: number, name = 'rootkit'): VmiEvent => ({
  type: 'module.load',
  domain: 'guest',
  time,
  process: { pid },
  module: { name },
});

function run(detector: Detector, events: VmiEvent[]): Finding[] {
  const findings: Finding[] = [];
  for (const event of events) detector.process(event, (finding) => findings.push(finding));
  return findings;
}

describe('sequences', () => {
  it('fire when the steps come in order, on the same key, within the window', () => {
    const detector = new Detector(rulesFrom(SEQUENCE));
    const findings = run(detector, [exec(0, 'bash'), moduleLoad(500, 100)]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      rule: { id: 'shell-then-module' },
      message: 'bash then rootkit',
      evidence: {
        correlation: {
          kind: 'sequence',
          key: { domain: 'guest', 'process.pid': 100 },
          steps: ['shell', 'load'],
        },
      },
    });
    expect(findings[0]!.events.map((event) => event.type)).toEqual(['process.exec', 'module.load']);
  });

  it('do not fire out of order, on another key, or after the window', () => {
    const detector = new Detector(rulesFrom(SEQUENCE));
    expect(run(detector, [moduleLoad(0, 100), exec(10, 'bash')])).toHaveLength(0);
    expect(
      run(detector, [
        exec(2000, 'bash', { process: { pid: 1, name: 'bash' } }),
        moduleLoad(2100, 2),
      ]),
    ).toHaveLength(0);
    expect(run(detector, [exec(5000, 'bash'), moduleLoad(6001, 100)])).toHaveLength(0);
  });

  it('fire once per completed sequence', () => {
    const detector = new Detector(rulesFrom(SEQUENCE));
    expect(run(detector, [exec(0, 'bash'), moduleLoad(1, 100), moduleLoad(2, 100)])).toHaveLength(
      1,
    );
  });

  it('evict the least recent key beyond max_keys and count it', () => {
    const detector = new Detector(rulesFrom(SEQUENCE));
    const starts = [1, 2, 3, 4].map((pid) => exec(pid, 'bash', { process: { pid, name: 'bash' } }));
    const findings = run(detector, [...starts, moduleLoad(10, 1), moduleLoad(11, 4)]);
    expect(findings.map((finding) => finding.evidence!.correlation)).toMatchObject([
      { key: { 'process.pid': 4 } },
    ]);
    expect(detector.stats().correlation['shell-then-module']).toMatchObject({ evicted: 1 });
  });

  it('count events without a key field', () => {
    const detector = new Detector(rulesFrom(SEQUENCE));
    run(detector, [{ type: 'process.exec', domain: 'guest', time: 0, process: { name: 'bash' } }]);
    expect(detector.stats().correlation['shell-then-module']).toMatchObject({
      unkeyed: 1,
      keys: 0,
    });
  });

  it('keep memory bounded under a flood of distinct keys', () => {
    const detector = new Detector(rulesFrom(SEQUENCE.replace('max_keys: 3', 'max_keys: 1000')));
    for (let pid = 0; pid < 50_000; pid += 1)
      detector.process(exec(pid, 'bash', { process: { pid, name: 'bash' } }), () => undefined);
    const stats = detector.stats().correlation['shell-then-module']!;
    expect(stats.keys).toBeLessThanOrEqual(1000);
    expect(stats.evicted + stats.expired + stats.keys).toBe(50_000);
  });

  it('expire keys whose window has passed', () => {
    const detector = new Detector(rulesFrom(SEQUENCE.replace('max_keys: 3', 'max_keys: 100000')));
    for (let pid = 0; pid < 5000; pid += 1)
      detector.process(exec(pid * 10, 'bash', { process: { pid, name: 'bash' } }), () => undefined);
    const stats = detector.stats().correlation['shell-then-module']!;
    expect(stats.expired).toBeGreaterThan(3900);
    expect(stats.keys).toBeLessThan(1200); // swept every 1024 events
    expect(stats.evicted).toBe(0);
  });

  it('use a later step before an earlier one, so one event is not two steps', () => {
    const detector = new Detector(
      rulesFrom(`
- rule: Two execs
  severity: low
  sequence:
    within: 1s
    steps: [type = process.exec, type = process.exec]
`),
    );
    expect(run(detector, [exec(0, 'a')])).toHaveLength(0);
    expect(run(detector, [exec(1, 'b')])).toHaveLength(1);
  });
});

describe('sequences with a key per step', () => {
  const PARENT_CHILD = `
- rule: Dropper loads a module
  severity: high
  sequence:
    by: [domain, process.pid]
    within: 5s
    steps:
      - type = process.exec and process.executable startswith /tmp/
      - condition: type = module.load
        by: [domain, process.ppid]
`;

  it('joins a step on other fields: the child of the process of the first step', () => {
    const detector = new Detector(rulesFrom(PARENT_CHILD));
    const dropper = exec(0, 'd', { process: { pid: 50, name: 'd', executable: '/tmp/d' } });
    const load = (ppid: number): VmiEvent => ({
      type: 'module.load',
      domain: 'guest',
      time: 100,
      process: { pid: 51, ppid, name: 'insmod' },
      module: { name: 'rk' },
    });
    expect(run(detector, [dropper, load(49)])).toHaveLength(0);
    const findings = run(detector, [load(50)]);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.evidence).toMatchObject({
      correlation: { key: { domain: 'guest', 'process.pid': 50 } },
    });
  });

  it('needs as many fields in a step key as in the sequence key', () => {
    expect(() =>
      rulesFrom(PARENT_CHILD.replace('[domain, process.ppid]', '[process.ppid]')),
    ).toThrow("error BAD_VALUE: step 'step 2' has 1 'by' field(s); the sequence's key has 2");
  });
});

describe('thresholds', () => {
  const THRESHOLD = `
- rule: Module burst
  severity: medium
  condition: type = module.load
  threshold: { count: 3, within: 100ms, by: [domain] }
`;

  it('fire at the count within the window, then start again', () => {
    const detector = new Detector(rulesFrom(THRESHOLD));
    const findings = run(detector, [
      moduleLoad(0, 1),
      moduleLoad(10, 2),
      moduleLoad(20, 3),
      moduleLoad(30, 4),
    ]);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.events).toHaveLength(3);
    expect(findings[0]!.evidence).toMatchObject({
      correlation: { kind: 'threshold', count: 3, key: { domain: 'guest' } },
    });
  });

  it('do not count events that have left the window', () => {
    const detector = new Detector(rulesFrom(THRESHOLD));
    expect(
      run(detector, [moduleLoad(0, 1), moduleLoad(90, 1), moduleLoad(200, 1), moduleLoad(250, 1)]),
    ).toHaveLength(0);
    expect(run(detector, [moduleLoad(260, 1)])).toHaveLength(1);
  });
});
