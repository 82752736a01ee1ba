// Scenario folders and their expected.yaml: parsing, the errors for malformed files, and that the
// repo's scenarios name only rules that exist and rebuild the guest when a script changes.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { findKernelHeaders, scenarioGuestFiles, scenarioKey } from './build.js';
import { parseExpectedFindings } from './expected.js';
import type { CommandResult, GuestControl } from '../guest/control.js';
import { listScenarios, runScenario, ScenarioError, scenarioCommand } from './scenarios.js';
import { scenarioSourceDir } from './paths.js';

const parseError = (text: string): string => {
  try {
    parseExpectedFindings(text, 'x/expected.yaml');
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('no error');
};

describe('parseExpectedFindings', () => {
  it('reads findings with and without fields, for both phases', () => {
    const expected = parseExpectedFindings(
      [
        'live:',
        '  - rule: lnx-kernel-module-loaded',
        '    fields:',
        '      module.name: ringside_test',
        '      user.id: 1000',
        '  - rule: lnx-hidden-process',
        'snapshot: []',
      ].join('\n'),
      'expected.yaml',
    );
    expect(expected).toEqual({
      live: [
        {
          rule: 'lnx-kernel-module-loaded',
          fields: { 'module.name': 'ringside_test', 'user.id': 1000 },
        },
        { rule: 'lnx-hidden-process', fields: {} },
      ],
      snapshot: [],
    });
  });

  it('takes an empty phase as no findings', () => {
    expect(parseExpectedFindings('live:\nsnapshot:\n', 'e.yaml')).toEqual({
      live: [],
      snapshot: [],
    });
  });

  it.each([
    ['a YAML syntax error', 'live: [\n', /^x\/expected\.yaml: 2:1: /],
    ['a list at the top', '- rule: a\n', /^x\/expected\.yaml: 1:1: expected a mapping/],
    ['an unknown phase', 'live: []\nsnapshot: []\nlater: []\n', /3:1: unknown key later/],
    ['a missing phase', 'live: []\n', /snapshot is missing/],
    ['a phase that is not a list', 'live: 3\nsnapshot: []\n', /1:7: live must be a list/],
    ['a finding without rule', 'live:\n  - fields: {a: 1}\nsnapshot: []\n', /2:5: .*needs a rule/],
    ['a bad rule id', 'live:\n  - rule: Not An Id\nsnapshot: []\n', /2:11: rule must be a rule id/],
    ['a rule that is a number', 'live:\n  - rule: 7\nsnapshot: []\n', /rule must be a rule id/],
    [
      'an unknown key in a finding',
      'live:\n  - rule: a\n    count: 2\nsnapshot: []\n',
      /3:5: unknown key count in a finding/,
    ],
    [
      'fields that are a list',
      'live:\n  - rule: a\n    fields: [x]\nsnapshot: []\n',
      /fields must be a mapping/,
    ],
    [
      'a field with a list value',
      'live:\n  - rule: a\n    fields:\n      process.pid: [1, 2]\nsnapshot: []\n',
      /4:20: field process.pid must have a string, number or boolean value/,
    ],
    [
      'a bad field name',
      'live:\n  - rule: a\n    fields:\n      "Process PID": 1\nsnapshot: []\n',
      /bad field name Process PID/,
    ],
  ])('names the file (and line) for %s', (_, text, message) => {
    const error = parseError(text);
    expect(error).toMatch(/^x\/expected\.yaml: /);
    expect(error).toMatch(message);
  });
});

describe('the scenarios in the repo', () => {
  const ruleIds = new Set(
    (
      parse(readFileSync(join(scenarioSourceDir(), '..', 'rules', 'linux.yaml'), 'utf8')) as {
        id?: string;
      }[]
    )
      .map((entry) => entry.id)
      .filter((id): id is string => id !== undefined),
  );

  it("are the six of issue 7 and issue 14's, each with expectations for both phases", () => {
    const scenarios = listScenarios();
    expect(scenarios.map((scenario) => scenario.name)).toEqual([
      'bpf-write-user',
      'code-injection',
      'exec-from-tmp',
      'fileless-exec',
      'hidden-process',
      'kernel-text-write',
      'kthread-masquerade',
      'namespace-escape',
      'privilege-escalation',
      'reverse-shell',
      'rootkit-function-hook',
      'rootkit-hidden-module',
      'rootkit-syscall-hook',
    ]);
    for (const scenario of scenarios) {
      expect(scenario.expected.live.length).toBeGreaterThan(0);
    }
    expect(scenarios.find((scenario) => scenario.name === 'reverse-shell')?.hasCleanup).toBe(false);
  });

  it('expect only rules that samples/rules/linux.yaml defines', () => {
    for (const scenario of listScenarios()) {
      for (const finding of [...scenario.expected.live, ...scenario.expected.snapshot]) {
        expect(`${scenario.name}: ${finding.rule}`).toBe(
          ruleIds.has(finding.rule) ? `${scenario.name}: ${finding.rule}` : 'an unknown rule',
        );
      }
    }
  });

  it('run from /opt/scenarios in the guest', () => {
    expect(scenarioCommand('hidden-process', 'cleanup')).toBe(
      'sh /opt/scenarios/hidden-process/cleanup.sh',
    );
  });
});

describe('scenario folders', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ringside-scenarios-'));
    mkdirSync(join(dir, 'module'));
    writeFileSync(join(dir, 'module', 'Kbuild'), 'obj-m := ringside_test.o\n');
    writeFileSync(join(dir, 'module', 'ringside_test.c'), '/* module */\n');
    writeFileSync(join(dir, 'module', 'ringside_rk.c'), '/* second module */\n');
    writeFileSync(join(dir, 'lib.sh'), '# helpers\n');
    mkdirSync(join(dir, 'one'));
    writeFileSync(join(dir, 'one', 'run.sh'), 'echo one\n');
    writeFileSync(join(dir, 'one', 'expected.yaml'), 'live: []\nsnapshot: []\n');
    mkdirSync(join(dir, 'notes'));
    writeFileSync(join(dir, 'notes', 'README.md'), 'not a scenario\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('are folders with a run.sh', () => {
    expect(listScenarios(dir).map((scenario) => scenario.name)).toEqual(['one']);
  });

  it('name the malformed expected.yaml', () => {
    writeFileSync(join(dir, 'one', 'expected.yaml'), 'live:\n  - rule: x\n    oops: 1\n');
    expect(() => listScenarios(dir)).toThrow(
      `${join(dir, 'one', 'expected.yaml')}: 3:5: unknown key oops`,
    );
  });

  it('name the scenario whose expected.yaml is missing', () => {
    rmSync(join(dir, 'one', 'expected.yaml'));
    expect(() => listScenarios(dir)).toThrow(/scenario one: .*expected\.yaml is missing/);
  });

  it('change the guest image key when a script or the module changes', () => {
    expect(scenarioGuestFiles(dir)).toEqual([
      'lib.sh',
      join('module', 'Kbuild'),
      join('module', 'ringside_rk.c'),
      join('module', 'ringside_test.c'),
      join('one', 'run.sh'),
    ]);
    const before = scenarioKey('6.1.192-2', dir);
    expect(scenarioKey('6.1.192-2', dir)).toBe(before);
    expect(scenarioKey('6.1.192-3', dir)).not.toBe(before);
    writeFileSync(join(dir, 'one', 'cleanup.sh'), 'echo undo\n');
    const withCleanup = scenarioKey('6.1.192-2', dir);
    expect(withCleanup).not.toBe(before);
    writeFileSync(join(dir, 'module', 'ringside_test.c'), '/* changed */\n');
    expect(scenarioKey('6.1.192-2', dir)).not.toBe(withCleanup);
  });
});

describe('runScenario', () => {
  let dir: string;
  const sent: string[] = [];
  /** A control channel that answers every command with the given result (or failure). */
  const control = (answer: CommandResult | Error) =>
    ({
      run: async (command: string) => {
        sent.push(command);
        if (answer instanceof Error) throw answer;
        return answer;
      },
    }) as unknown as GuestControl;

  beforeEach(() => {
    sent.length = 0;
    dir = mkdtempSync(join(tmpdir(), 'ringside-scenarios-'));
    mkdirSync(join(dir, 'one'));
    writeFileSync(join(dir, 'one', 'run.sh'), 'echo one\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('returns the output and status of the script run in the guest', async () => {
    await expect(
      runScenario(control({ status: 0, output: 'did it\n' }), 'one', 'run', { source: dir }),
    ).resolves.toEqual({ scenario: 'one', phase: 'run', status: 0, output: 'did it\n' });
    expect(sent).toEqual(['sh /opt/scenarios/one/run.sh']);
  });

  it('has nothing to do for cleanup without a cleanup.sh', async () => {
    await expect(
      runScenario(control({ status: 0, output: '' }), 'one', 'cleanup', { source: dir }),
    ).resolves.toMatchObject({ status: 0, output: '' });
    expect(sent).toEqual([]);
  });

  it('names the scenario, the script and the status when it fails', async () => {
    const failing = runScenario(control({ status: 3, output: 'oops\n' }), 'one', 'run', {
      source: dir,
    });
    await expect(failing).rejects.toThrow(ScenarioError);
    await expect(failing).rejects.toThrow('scenario one: run.sh exited with status 3:\noops');
  });

  it('names the scenario when the guest does not answer', async () => {
    writeFileSync(join(dir, 'one', 'cleanup.sh'), 'true\n');
    await expect(
      runScenario(control(new Error('timed out')), 'one', 'cleanup', { source: dir }),
    ).rejects.toThrow('scenario one: cleanup.sh did not finish');
  });

  it('refuses a scenario that does not exist', async () => {
    await expect(
      runScenario(control({ status: 0, output: '' }), 'two', 'run', { source: dir }),
    ).rejects.toThrow(/no scenario two/);
    expect(sent).toEqual([]);
  });
});

describe('findKernelHeaders', () => {
  it('says which headers package to install when they are missing', () => {
    expect(() => findKernelHeaders('0.0.0-0-nonexistent', '/nonexistent/kernel.deb')).toThrow(
      /kernel 0\.0\.0-0-nonexistent, which are not installed: apt-get install linux-headers-0\.0\.0-0-nonexistent /,
    );
  });
});
