// Rule strings are data: hostile-looking values are compared literally and never run, and names
// that mean something to JavaScript objects (__proto__, constructor) are just text.
import type { VmiEvent } from '../introspect/events/event.js';
import { Detector } from './detector.js';
import { loadRuleFiles } from './load.js';
import { rulesFrom } from './test-support/index.js';

const hostile = [
  '"); process.exit(1); ("',
  "'); globalThis.pwned = true; ('",
  '${globalThis.pwned = true}',
  '`${1}`',
  '__proto__',
  'constructor',
  'toString',
  '\\u0000\\n',
  '*/ throw 1 /*',
];

const exec = (name: string): VmiEvent => ({
  type: 'process.exec',
  domain: 'g',
  time: 0,
  process: { name },
});

describe('rule strings are data', () => {
  it.each(hostile)('compares %j literally with =, in, contains, startswith and glob', (value) => {
    const quoted = JSON.stringify(value).slice(1, -1).replace(/'/g, "\\'");
    // The list item is a quoted string as Falco writes them ('"sh"'): the text inside is the value.
    const item = `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    const ruleset = rulesFrom(`
- list: names
  items: ['${item.replace(/'/g, "''")}']
- rule: eq
  severity: low
  condition: process.name = "${quoted}"
- rule: in
  severity: low
  condition: process.name in (names)
- rule: contains
  severity: low
  condition: process.name contains "${quoted}"
- rule: prefix
  severity: low
  condition: process.name startswith ("${quoted}", other)
- rule: glob
  severity: low
  condition: process.name glob "${quoted}"
`);
    const fire = (name: string): string[] => {
      const ids: string[] = [];
      new Detector(ruleset).process(exec(name), (finding) => ids.push(finding.rule.id));
      return ids;
    };
    const decoded = JSON.parse(`"${JSON.stringify(value).slice(1, -1)}"`) as string;
    expect(fire(decoded).filter((id) => id !== 'glob')).toEqual(['eq', 'in', 'contains', 'prefix']);
    expect(fire(`x${decoded}`).filter((id) => id !== 'glob')).toEqual(['contains']);
    // A glob is a pattern: it matches itself whenever its wildcards allow it.
    if (!/[*?[]/.test(decoded)) expect(fire(decoded)).toContain('glob');
    expect(fire('harmless')).toEqual([]);
    expect((globalThis as { pwned?: boolean }).pwned).toBeUndefined();
  });

  it('treats a list or macro named like an Object property as a plain name', () => {
    const result = loadRuleFiles([
      {
        file: 'p.yaml',
        text: '- rule: a\n  severity: low\n  condition: process.name in (constructor, __proto__) and toString\n',
      },
    ]);
    expect(result.diagnostics.map((d) => d.code)).toEqual(['UNKNOWN_MACRO']);
    const fine = rulesFrom(
      '- rule: a\n  severity: low\n  condition: process.name in (constructor, __proto__)\n',
    );
    const ids: string[] = [];
    new Detector(fine).process(exec('__proto__'), (finding) => ids.push(finding.rule.id));
    expect(ids).toEqual(['a']);
  });
});
