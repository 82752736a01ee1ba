// Hostile input never crashes the loader: random text, random edits of a valid rule file and random
// conditions give diagnostics with positions inside the file, never an exception.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { loadRuleFiles } from './load.js';
import { parseCondition } from './parser.js';
import { plainSource } from './source.js';
import { parseTestFile } from './testing.js';
import { DiagnosticBag } from './diagnostics.js';
import { importSigma } from './sigma.js';

const sample = readFileSync('samples/rules/linux.yaml', 'utf8');
const tests = readFileSync('samples/rules/linux.tests.yaml', 'utf8');

function positionsInside(text: string, diagnostics: { at: { line: number; col: number } }[]): void {
  const lines = text.split('\n');
  for (const { at } of diagnostics) {
    expect(at.line).toBeGreaterThanOrEqual(1);
    expect(at.line).toBeLessThanOrEqual(lines.length + 1);
    expect(at.col).toBeGreaterThanOrEqual(1);
  }
}

/** The sample with a slice replaced by random text: mostly still YAML, often wrong in places. */
const mutated = fc
  .record({
    start: fc.nat({ max: sample.length }),
    length: fc.nat({ max: 40 }),
    insert: fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.constantFrom(
        ': ',
        '- ',
        '\n',
        '"',
        "'",
        '(',
        ')',
        ' and ',
        ' in ',
        '[',
        ']',
        '{',
        '}',
        '|',
        '>',
        '%',
        '\t',
      ),
    ),
  })
  .map(
    ({ start, length, insert }) => sample.slice(0, start) + insert + sample.slice(start + length),
  );

describe('loader fuzz', () => {
  it('turns random edits of a rule file into diagnostics, never exceptions', () => {
    fc.assert(
      fc.property(mutated, (text) => {
        const result = loadRuleFiles([{ file: 'f.yaml', text }]);
        positionsInside(text, result.diagnostics);
      }),
      { numRuns: 200 },
    );
  });

  it('survives random text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        positionsInside(text, loadRuleFiles([{ file: 'f.yaml', text }]).diagnostics);
        const bag = new DiagnosticBag();
        parseTestFile('t.tests.yaml', text, bag);
        positionsInside(text, bag.items);
        importSigma([{ file: 's.yml', text }]);
      }),
      { numRuns: 400 },
    );
  });

  it('parses or rejects random conditions without throwing', () => {
    const pieces = fc.constantFrom(
      'process.name',
      'a',
      '=',
      '!=',
      'in',
      '(',
      ')',
      ',',
      'and',
      'or',
      'not',
      '"x"',
      "'y",
      '0x1',
      'exists',
      'startswith',
      '\\',
      '!',
      '<=',
    );
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 12 }), (tokens) => {
        const text = tokens.join(' ');
        const result = parseCondition(plainSource(text, 'c'));
        if (!result.ok) expect(result.error.at.col).toBeLessThanOrEqual(text.length + 1);
      }),
      { numRuns: 2000 },
    );
  });

  it('survives random edits of a test file', () => {
    fc.assert(
      fc.property(fc.nat({ max: tests.length }), fc.string({ maxLength: 10 }), (start, insert) => {
        const text = tests.slice(0, start) + insert + tests.slice(start + 5);
        const bag = new DiagnosticBag();
        parseTestFile('t.tests.yaml', text, bag);
        positionsInside(text, bag.items);
      }),
      { numRuns: 300 },
    );
  });
});
