import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importSigmaRules, lintRules, runRules, testRules } from './rules.js';
import type { Output } from './rules.js';

function capture(): Output & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: (line) => lines.push(line), err: (line) => errors.push(line) };
}

function copySamples(): string {
  const folder = mkdtempSync(join(tmpdir(), 'ringside-rules-cli-'));
  cpSync('samples/rules', join(folder, 'rules'), { recursive: true });
  cpSync('samples/traces', join(folder, 'traces'), { recursive: true });
  return folder;
}

describe('ringside rules lint', () => {
  it('passes the starter rules with exit code 0', async () => {
    const output = capture();
    expect(await lintRules(['samples/rules'], {}, output)).toBe(0);
    expect(output.lines.join('\n')).toMatch(
      /1 file\(s\), 21 rule\(s\) \(21 enabled\), 0 error\(s\)/,
    );
  });

  it('prints file:line:col diagnostics and exits 1 on errors; --strict fails on warnings', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'ringside-lint-'));
    writeFileSync(
      join(folder, 'a.yaml'),
      '- rule: a\n  severity: low\n  condition: process.nam = x\n',
    );
    writeFileSync(join(folder, 'b.yaml'), '- list: unused\n  items: [a]\n');
    const output = capture();
    expect(await lintRules([folder], {}, output)).toBe(2);
    expect(output.errors).toEqual([
      `${join(folder, 'a.yaml')}:3:14: error UNKNOWN_FIELD: unknown field 'process.nam'`,
      `${join(folder, 'b.yaml')}:1:9: warning UNUSED: list 'unused' is not used by any rule`,
    ]);
    // The summary lists the rules left out, counted by what they lack.
    expect(output.lines.slice(1)).toEqual([
      '1 rule(s) not loaded (1 UNKNOWN_FIELD):',
      `  ${join(folder, 'a.yaml')}:1: 'a': UNKNOWN_FIELD`,
    ]);
    writeFileSync(
      join(folder, 'a.yaml'),
      '- rule: a\n  severity: low\n  condition: process.name = x\n',
    );
    expect(await lintRules([folder], {}, capture())).toBe(0);
    expect(await lintRules([folder], { strict: true }, capture())).toBe(2);
  });

  it('checks the test files beside the rules too', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'ringside-lint-tests-'));
    writeFileSync(
      join(folder, 'a.yaml'),
      '- rule: a\n  severity: low\n  condition: process.name = x\n',
    );
    writeFileSync(join(folder, 'a.tests.yaml'), '- test: t\n  expect: [a]\n');
    const output = capture();
    expect(await lintRules([folder], {}, output)).toBe(2);
    expect(output.errors).toEqual([
      `${join(folder, 'a.tests.yaml')}:1:3: error MISSING_KEY: test 't' needs either 'trace' (a file) or 'events' (inline)`,
    ]);
  });

  it('throws an input error (exit 2 from the CLI) for a missing path', async () => {
    await expect(lintRules(['no/such/rules'], {}, capture())).rejects.toMatchObject({
      code: 'BAD_INPUT',
    });
  });
});

describe('ringside rules test', () => {
  it('runs the starter rule tests on their traces and passes', async () => {
    const output = capture();
    expect(await testRules(['samples/rules'], {}, output)).toBe(0);
    expect(output.lines.at(-1)).toMatch(/^15 passed, 0 failed, 0 test file error\(s\)/);
  });

  it('fails with a readable diff when an expectation does not hold', async () => {
    const folder = copySamples();
    const tests = join(folder, 'rules', 'linux.tests.yaml');
    writeFileSync(
      tests,
      readFileSync(tests, 'utf8')
        .replace('count: 2', 'count: 3')
        .replace('euid 33 to 0', 'euid 34 to 0'),
    );
    const output = capture();
    expect(await testRules([join(folder, 'rules')], {}, output)).toBe(1);
    const text = output.lines.join('\n');
    expect(text).toContain('FAIL a program run from /tmp or /dev/shm is reported');
    expect(text).toContain('  - expected: 3\n      + actual:   2');
    expect(text).toContain(
      '  - expected: sh (pid 2301) went from euid 34 to 0 without a setuid exec',
    );
    expect(text).toContain(
      '  + actual:   sh (pid 2301) went from euid 33 to 0 without a setuid exec',
    );
    expect(output.lines.at(-1)).toMatch(/^13 passed, 2 failed/);
  });

  it('fails when a rule no longer loads, and names a missing trace', async () => {
    const folder = copySamples();
    const rules = join(folder, 'rules', 'linux.yaml');
    writeFileSync(
      rules,
      readFileSync(rules, 'utf8').replace(
        'type = module.load and not',
        'type = module.load and nott',
      ),
    );
    const output = capture();
    expect(await testRules([join(folder, 'rules')], {}, output)).toBe(2);
    expect(output.errors.join('\n')).toMatch(/linux\.yaml:\d+:\d+: error SYNTAX/);

    const second = copySamples();
    const tests = join(second, 'rules', 'linux.tests.yaml');
    writeFileSync(
      tests,
      readFileSync(tests, 'utf8').replace('../traces/setuid-sudo.ndjson', '../traces/none.ndjson'),
    );
    const again = capture();
    expect(await testRules([join(second, 'rules')], {}, again)).toBe(2);
    expect(again.errors.join('\n')).toMatch(
      /linux\.tests\.yaml:36:3: error BAD_VALUE: test 'sudo becoming root.*cannot read the trace/,
    );
  });
});

describe('ringside rules run', () => {
  it('warns when a correlation rule evicted keys at its cap', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'ringside-run-'));
    writeFileSync(
      join(folder, 'seq.yaml'),
      '- rule: s\n  severity: low\n  sequence:\n    by: [process.pid]\n    within: 1h\n    max_keys: 1\n    steps: [type = process.exec, type = cred.change]\n',
    );
    const output = capture();
    expect(await runRules([folder], { trace: 'samples/traces/exec-from-tmp.ndjson' }, output)).toBe(
      0,
    );
    expect(output.errors).toEqual([
      'warning: s evicted 3 key(s) at its max_keys cap; partial matches were lost',
    ]);
  });

  it('prints the findings of a trace as NDJSON', async () => {
    const output = capture();
    expect(
      await runRules(['samples/rules'], { trace: 'samples/traces/kernel-writes.ndjson' }, output),
    ).toBe(0);
    const findings = output.lines.map(
      (line) => JSON.parse(line) as { rule: { id: string }; events: { vmi?: { gva?: string } }[] },
    );
    expect(findings.map((finding) => finding.rule.id)).toEqual([
      'lnx-syscall-table-write',
      'lnx-kernel-text-write',
      'lnx-hidden-process',
    ]);
    expect(findings[0]!.events[0]!.vmi!.gva).toBe('0xffffffff822002b0');
  });
});

describe('ringside rules import-sigma', () => {
  it('writes rules that lint clean, and reports what does not map with exit 1', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'ringside-sigma-'));
    const good = join(folder, 'good.yml');
    const bad = join(folder, 'bad.yml');
    writeFileSync(
      good,
      'title: Netcat listener\nlogsource: { product: linux, category: process_creation }\ndetection:\n  sel:\n    Image|endswith: /nc\n    CommandLine|contains: " -l"\n  condition: sel\nlevel: high\n',
    );
    writeFileSync(
      bad,
      'title: W\nlogsource: { product: windows, service: security }\ndetection: { sel: { EventID: 4624 }, condition: sel }\n',
    );
    const out = join(folder, 'imported.yaml');
    const output = capture();
    expect(await importSigmaRules([good], { output: out }, output)).toBe(0);
    expect(output.errors).toEqual(['1 Sigma rule(s) imported, 0 not mapped']);
    expect(await lintRules([out], { strict: true }, capture())).toBe(0);
    const mixed = capture();
    expect(await importSigmaRules([good, bad], {}, mixed)).toBe(2);
    expect(mixed.errors[0]).toMatch(/bad\.yml:1:1: error SIGMA_UNMAPPED: W: log source/);
    expect(mixed.lines.join('\n')).toContain('rule: Netcat listener');
  });
});
