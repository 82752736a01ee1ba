import { Detector } from './detector.js';
import { formatDiagnostic } from './diagnostics.js';
import { loadRuleFiles } from './load.js';
import type { LoadResult } from './load.js';

const load = (...texts: string[]): LoadResult =>
  loadRuleFiles(texts.map((text, index) => ({ file: `f${index}.yaml`, text })));
const lines = (result: LoadResult): string[] =>
  result.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);

describe('loadRuleFiles', () => {
  it('loads rules with macros, lists, severity, tags and techniques', () => {
    const result = load(`
- list: shells
  items: [bash, sh]
- macro: spawned
  condition: type = process.exec
- rule: Shell
  id: RS-1
  desc: a shell
  condition: spawned and process.name in (shells, zsh)
  output: "%process.name (%%)"
  priority: WARNING
  mitre: [T1059.004]
  tags: [attack.t1059, linux]
  fields: [process.pid]
`);
    expect(result.diagnostics).toEqual([]);
    const [rule] = result.ruleset.rules;
    expect(rule).toMatchObject({
      id: 'RS-1',
      severity: 'medium',
      mitre: [{ id: 'T1059.004' }, { id: 'T1059' }],
      tags: ['attack.t1059', 'linux'],
      output: [{ field: 'process.name' }, { text: ' (' }, { text: '%' }, { text: ')' }],
      fields: ['process.pid'],
    });
    expect(JSON.stringify(rule!.condition)).toContain('"values":["bash","sh","zsh"]');
  });

  it("reads Falco's quoted list items ('\"sh\"') as the text inside the quotes", () => {
    const result = load(`
- list: shells
  items: ['"sh"', bash, '"75-system-updat"']
- list: private
  items: ['"10.0.0.0/8"', '"192.168.0.0/16"']
- rule: Shell
  condition: type = process.exec and process.name in (shells)
  priority: WARNING
- rule: Private
  condition: type = network.connect and network.destination_ip cidr (private)
  priority: WARNING
`);
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([]);
    const [shell] = result.ruleset.rules;
    expect(JSON.stringify(shell!.condition)).toContain('"values":["sh","bash","75-system-updat"]');
    const fired: string[] = [];
    const detector = new Detector(result.ruleset, { now: () => new Date(0) });
    const network = { destination_port: 443, transport: 'tcp' };
    for (const ip of ['10.1.2.3', '203.0.113.9'])
      detector.process(
        {
          type: 'network.connect',
          domain: 'g',
          time: 1,
          network: { ...network, destination_ip: ip },
        },
        (finding) => fired.push(`${finding.rule.id} ${ip}`),
      );
    expect(fired).toEqual(['private 10.1.2.3']);
  });

  it('reports YAML syntax errors with their position', () => {
    expect(lines(load('- rule: a\n  condition: [x\n'))).toEqual([
      expect.stringMatching(/^f0\.yaml:3:1: error YAML_SYNTAX: /),
    ]);
  });

  it('reports a condition syntax error at its column inside a plain, quoted or folded scalar', () => {
    expect(lines(load('- rule: a\n  severity: low\n  condition: process.name = \n'))[0]).toMatch(
      /^f0\.yaml:3:/,
    );
    expect(lines(load('- rule: a\n  severity: low\n  condition: "process.name = x y"\n'))).toEqual([
      "f0.yaml:3:32: error SYNTAX: expected 'and', 'or' or the end, found 'y'",
    ]);
    expect(
      lines(load('- rule: a\n  severity: low\n  condition: >\n    process.name = x\n    and or\n')),
    ).toEqual(["f0.yaml:5:9: error SYNTAX: expected a field, a macro or '(', found 'or'"]);
  });

  it('rejects unknown fields, type mismatches and bad operators before anything runs', () => {
    expect(
      lines(
        load(`
- rule: a
  severity: low
  condition: process.nme = x or user.id = root or vmi.gpa contains 1 or process.kernel_thread = yes
`),
      ),
    ).toEqual([
      "f0.yaml:4:14: error UNKNOWN_FIELD: unknown field 'process.nme'",
      'f0.yaml:4:43: error TYPE_MISMATCH: user.id is number: root is not a number',
      "f0.yaml:4:51: error BAD_OPERATOR: 'contains' does not apply to vmi.gpa (address); use one of = != < <= > >= in",
      'f0.yaml:4:97: error TYPE_MISMATCH: process.kernel_thread is boolean: yes is not true or false',
    ]);
  });

  it('rejects bad regexes, CIDRs and IPs', () => {
    expect(
      lines(
        load(`
- rule: a
  severity: low
  condition: process.name regex "a(" or network.destination_ip cidr 10.0.0.0/33 or network.source_ip = 1.2.3
`),
      ).map((line) => line.split(': ')[1]),
    ).toEqual(['error BAD_REGEX', 'error BAD_CIDR', 'error BAD_CIDR']);
  });

  it('reports unknown macros and lists, and macro cycles', () => {
    expect(
      lines(
        load(`
- macro: m1
  condition: m2
- macro: m2
  condition: m1 and process.name in nolist
- rule: a
  severity: low
  condition: m1 or nomacro or process.name
`),
      ).map((line) => line.split(': ').slice(1, 3).join(': ')),
    ).toEqual([
      "error MACRO_CYCLE: macro 'm1' includes itself (m1 -> m2 -> m1)",
      "error UNKNOWN_LIST: list 'nolist' is not defined",
      "error UNKNOWN_MACRO: 'nomacro' is not a macro",
      "error UNKNOWN_MACRO: 'process.name' is not a macro ('process.name' is a field",
    ]);
  });

  it('expands lists inside the set of a string operator', () => {
    const result = load(`
- list: dirs
  items: [/tmp/, /dev/shm/]
- rule: a
  severity: low
  condition: process.executable startswith (dirs, /run/user/)
`);
    expect(result.diagnostics).toEqual([]);
    expect(result.ruleset.rules[0]!.condition).toMatchObject({
      operator: 'startswith',
      values: ['/tmp/', '/dev/shm/', '/run/user/'],
    });
  });

  it('expands lists that name other lists, and reports a list cycle', () => {
    const good = load(`
- list: shells
  items: [sh, bash]
- list: interpreters
  items: [shells, python3]
- rule: a
  severity: low
  condition: process.name in (interpreters, perl)
`);
    expect(good.diagnostics).toEqual([]);
    expect(good.ruleset.rules[0]!.condition).toMatchObject({
      values: ['sh', 'bash', 'python3', 'perl'],
    });
    const cyclic = load(`
- list: a
  items: [b]
- list: b
  items: [a]
- rule: r
  severity: low
  condition: process.name in a
`);
    expect(cyclic.diagnostics.map((d) => d.code)).toEqual(['MACRO_CYCLE']);
  });

  it('names a missing list', () => {
    expect(
      lines(load('- rule: a\n  severity: low\n  condition: process.name in nolist\n')),
    ).toEqual(["f0.yaml:3:30: error UNKNOWN_LIST: list 'nolist' is not defined"]);
  });

  it('checks the shape of items and keys', () => {
    const result = load(`
- rule: a
  condition: process.name = x
  severity: fatal
  mitre: [X1]
  colour: red
- 42
- something: else
- rule: b
`);
    expect(result.diagnostics.map((d) => `${d.at.line} ${d.severity} ${d.code}`)).toEqual([
      '4 error BAD_SEVERITY',
      '5 error BAD_MITRE',
      '6 error UNKNOWN_KEY',
      '7 error BAD_ITEM',
      '8 error BAD_ITEM',
      '9 error MISSING_KEY',
      '9 warning MISSING_KEY',
    ]);
  });

  it('appends and overrides across files, as Falco does', () => {
    const base = `
- list: shells
  items: [bash]
- macro: spawned
  condition: type = process.exec
- rule: Shell
  condition: spawned and process.name in (shells)
  severity: low
  exceptions:
    - name: parent
      fields: process.parent.name
      values: [cron]
`;
    const local = `
- list: shells
  items: [zsh]
  append: true
- rule: Shell
  condition: and user.id = 0
  exceptions:
    - name: pair
      fields: [process.parent.name, process.name]
      values: [[sshd, zsh]]
  severity: critical
  override:
    condition: append
    exceptions: append
    severity: replace
- rule: Missing
  enabled: false
  override: { enabled: replace }
`;
    const result = load(base, local);
    expect(lines(result)).toEqual([
      "f1.yaml:16:9: error APPEND_UNKNOWN: rule 'Missing' is appended to or overridden but not defined before",
    ]);
    const [rule] = result.ruleset.rules;
    expect(rule!.severity).toBe('critical');
    const text = JSON.stringify(rule!.condition);
    expect(text).toContain('"values":["bash","zsh"]');
    expect(text).toContain('"field":"user.id"');
    expect(text).toContain('"values":["cron"]');
    expect(text).toContain('"values":["sshd"]');
  });

  it('accepts exceptions and steps without names', () => {
    const result = load(`
- rule: a
  severity: low
  condition: process.name = x
  exceptions:
    - fields: [process.pid]
      values: [[1]]
`);
    expect(result.diagnostics).toEqual([]);
    expect(JSON.stringify(result.ruleset.rules[0]!.condition)).toContain('"field":"process.pid"');
  });

  it('disables a rule defined earlier with enabled: false alone', () => {
    const result = load(
      '- rule: a\n  severity: low\n  condition: process.name = x\n',
      '- rule: a\n  enabled: false\n',
    );
    expect(result.errorCount).toBe(0);
    expect(result.ruleset.rules[0]!.enabled).toBe(false);
  });

  it('reports a key given again without override', () => {
    expect(
      lines(
        load(
          '- rule: a\n  severity: low\n  condition: process.name = x\n',
          '- rule: a\n  override: { condition: append }\n  severity: high\n',
        ),
      ),
    ).toEqual([
      "f1.yaml:3:13: error BAD_VALUE: 'severity' of rule 'a' is given without override (append or replace)",
    ]);
  });

  it('reads append: false as a plain (re)definition, as Falco does', () => {
    const result = load(
      '- rule: a\n  severity: low\n  condition: process.name = x\n',
      '- rule: a\n  append: false\n  severity: high\n  condition: process.name = y\n',
    );
    expect(lines(result)).toEqual([]);
    expect(result.ruleset.rules.map((rule) => rule.severity)).toEqual(['high']);
  });

  it('leaves out only the rule with an error; the others load', () => {
    const result = load(
      '- rule: bad\n  severity: low\n  condition: process.name = x\n  colour: red\n' +
        '- rule: good\n  severity: low\n  condition: process.name = y\n',
    );
    expect(lines(result)).toEqual([
      "f0.yaml:4:3: error UNKNOWN_KEY: unknown key 'colour' in a rule (known: rule, id, desc, description, condition, output, priority, severity, tags, mitre, enabled, exceptions, fields, append, override, sequence, threshold, source, actions, warn_evttypes, skip-if-unknown-filter, capture, capture_duration)",
    ]);
    expect(result.ruleset.rules.map((rule) => rule.id)).toEqual(['good']);
  });

  it('keeps the position of an appended condition in its own file', () => {
    const result = load(
      '- rule: a\n  severity: low\n  condition: process.name = x\n',
      '- rule: a\n  append: true\n  condition: and process.nam = y\n',
    );
    expect(lines(result)).toEqual([
      "f1.yaml:3:18: error UNKNOWN_FIELD: unknown field 'process.nam'",
    ]);
  });

  it('loads sequences and thresholds and checks their settings', () => {
    const good = load(`
- rule: seq
  severity: high
  sequence:
    by: [domain, process.pid]
    within: 2s
    max_keys: 100
    steps:
      - name: shell
        condition: type = process.exec
      - type = module.load
- rule: burst
  severity: low
  condition: type = module.load
  threshold: { count: 3, within: 500ms }
`);
    expect(good.diagnostics).toEqual([]);
    expect(good.ruleset.rules.map((rule) => rule.correlation)).toMatchObject([
      {
        kind: 'sequence',
        by: ['domain', 'process.pid'],
        within: 2000,
        maxKeys: 100,
        steps: [{ name: 'shell' }, { name: 'step 2' }],
      },
      { kind: 'threshold', by: ['domain'], within: 500, count: 3, maxKeys: 10000 },
    ]);
    const bad = load(`
- rule: seq
  severity: high
  sequence:
    by: [process.pidd]
    within: soon
    steps: [type = process.exec]
- rule: burst
  severity: low
  condition: type = module.load
  threshold: { within: 1s, max_keys: 0 }
`);
    expect(bad.diagnostics.map((d) => `${d.at.line}:${d.at.col} ${d.code}`)).toEqual([
      '5:5 BAD_VALUE',
      '5:10 UNKNOWN_FIELD',
      '6:13 BAD_DURATION',
      '11:14 MISSING_KEY',
      '11:38 BAD_VALUE',
    ]);
  });

  it('rejects two rules with the same id and warns about unused macros', () => {
    const result = load(`
- macro: unused
  condition: process.name = x
- rule: One
  id: same
  severity: low
  condition: process.name = a
- rule: Two
  id: same
  severity: low
  condition: process.name = b
`);
    expect(result.diagnostics.map((d) => `${d.at.line} ${d.severity} ${d.code}`)).toEqual([
      '2 warning UNUSED',
      '9 error DUPLICATE',
    ]);
  });

  it('warns about unknown fields in output templates and keeps the rule', () => {
    const result = load(
      '- rule: a\n  severity: low\n  condition: process.name = x\n  output: "%process.nmae"\n',
    );
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      expect.stringContaining("f0.yaml:4:11: warning UNKNOWN_FIELD: unknown field 'process.nmae'"),
    ]);
    expect(result.ruleset.rules).toHaveLength(1);
  });

  it("reads Falco's field names, operators, indexed fields and quoted numbers", () => {
    const result = load(
      '- rule: a\n  priority: WARNING\n  condition: >\n    proc.name = x and proc.aname[1] pmatch (/usr/sbin) and\n' +
        '    process.args intersects (-e, -c) and proc.cmdline bcontains 2f746d70 and user.uid = "0"\n' +
        '  output: "%proc.name by %fd.name"\n',
    );
    expect(lines(result)).toEqual([]);
    expect(result.diagnostics.map((d) => `${d.severity} ${d.code}`)).toEqual([
      'warning NEEDS_FILE_EVENTS',
    ]);
    const matches = (process: Record<string, unknown>, uid: number): boolean => {
      let fired = false;
      new Detector(result.ruleset).process(
        { type: 'process.exec', domain: 'g', time: 0, process, user: { id: uid } },
        () => (fired = true),
      );
      return fired;
    };
    const base = {
      name: 'x',
      parent: { name: '/usr/sbin/cron' },
      args: ['sh', '-c', 'id'],
      command_line: 'sh -c cat /tmp/x',
    };
    expect(matches(base, 0)).toBe(true);
    expect(matches({ ...base, parent: { name: '/usr/sbinx' } }, 0)).toBe(false);
    expect(matches({ ...base, command_line: 'sh -c id' }, 0)).toBe(false);
    expect(matches(base, 1)).toBe(false);
  });
});
