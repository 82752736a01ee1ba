import fc from 'fast-check';
import { formatCondition, parseCondition } from './parser.js';
import { plainSource } from './source.js';
import type { Condition, Literal } from './types.js';
import { COMPARISON_OPERATORS, junction } from './types.js';

const parse = (text: string): Condition => {
  const result = parseCondition(plainSource(text, 'c'));
  if (!result.ok) throw new Error(`${result.error.message} at ${result.error.at.col}`);
  return result.condition;
};

const errorOf = (text: string): { message: string; col: number; line: number } => {
  const result = parseCondition(plainSource(text, 'c'));
  if (result.ok) throw new Error(`parsed: ${text}`);
  return { message: result.error.message, col: result.error.at.col, line: result.error.at.line };
};

/** The tree without positions, literal kinds word/string merged (both are text to the checker). */
function shape(condition: Condition): unknown {
  switch (condition.kind) {
    case 'and':
    case 'or':
      return [condition.kind, ...condition.operands.map(shape)];
    case 'not':
      return ['not', shape(condition.operand)];
    case 'bool':
      return condition.value;
    case 'macro':
      return ['macro', condition.name];
    case 'exists':
      return ['exists', condition.field];
    case 'compare':
      return [
        condition.field,
        condition.operator,
        condition.values.map((value) => [
          value.kind === 'word' ? 'string' : value.kind,
          value.text,
        ]),
        ...(condition.operator !== 'in' && condition.grouped === true ? ['set'] : []),
      ];
  }
}

describe('parseCondition', () => {
  it('gives and a higher precedence than or, and not the highest', () => {
    expect(shape(parse('a or b and not c'))).toEqual([
      'or',
      ['macro', 'a'],
      ['and', ['macro', 'b'], ['not', ['macro', 'c']]],
    ]);
    expect(shape(parse('(a or b) and c'))).toEqual([
      'and',
      ['or', ['macro', 'a'], ['macro', 'b']],
      ['macro', 'c'],
    ]);
  });

  it('parses every comparison operator, exists and in', () => {
    for (const operator of COMPARISON_OPERATORS.filter((op) => op !== 'in'))
      expect(shape(parse(`process.name ${operator} x`))).toEqual([
        'process.name',
        operator,
        [['string', 'x']],
      ]);
    expect(shape(parse('process.name exists'))).toEqual(['exists', 'process.name']);
    expect(shape(parse("process.name in (a, 'b c', 3)"))).toEqual([
      'process.name',
      'in',
      [
        ['string', 'a'],
        ['string', 'b c'],
        ['number', '3'],
      ],
    ]);
    expect(shape(parse('process.name in shells'))).toEqual([
      'process.name',
      'in',
      [['list', 'shells']],
    ]);
  });

  it('reads bare paths, hex numbers, quoted strings with escapes', () => {
    expect(shape(parse('process.executable startswith /tmp/'))).toEqual([
      'process.executable',
      'startswith',
      [['string', '/tmp/']],
    ]);
    expect(shape(parse('vmi.gpa >= 0xffffffff81000000'))).toEqual([
      'vmi.gpa',
      '>=',
      [['number', '0xffffffff81000000']],
    ]);
    expect(shape(parse('process.name = "a \\"q\\" \\\\ b"'))).toEqual([
      'process.name',
      '=',
      [['string', 'a "q" \\ b']],
    ]);
    expect(shape(parse('type = process.exec'))).toEqual([
      'type',
      '=',
      [['string', 'process.exec']],
    ]);
  });

  it('reads a parenthesised set after a string operator as any of its values', () => {
    expect(shape(parse('process.executable startswith (/tmp/, "/dev/shm/")'))).toEqual([
      'process.executable',
      'startswith',
      [
        ['string', '/tmp/'],
        ['string', '/dev/shm/'],
      ],
      'set',
    ]);
  });

  it('accepts == as =', () => {
    expect(shape(parse('a == 1'))).toEqual(shape(parse('a = 1')));
  });

  it('places every node at its line and column', () => {
    const condition = parse('a = 1 and\n  not b exists');
    if (condition.kind !== 'and') throw new Error('and expected');
    expect(condition.at).toMatchObject({ line: 1, col: 7 });
    const [left, right] = condition.operands as [Condition, Condition];
    expect(left.at).toMatchObject({ line: 1, col: 1 });
    expect(right.at).toMatchObject({ line: 2, col: 3 });
    if (right.kind !== 'not') throw new Error('not expected');
    expect(right.operand.at).toMatchObject({ line: 2, col: 7 });
  });

  it.each([
    ['a = ', 'expected a value, found the end of the condition', 5],
    ['a = 1 b', "expected 'and', 'or' or the end, found 'b'", 7],
    ['(a = 1', "expected ')', found the end of the condition", 7],
    ['a = "x', 'unterminated string', 5],
    ['a in (1 2)', "expected ',' or ')', found '2'", 9],
    ['a in ()', "expected a value in '(…)', found ')'", 7],
    ['a startswith ()', "expected a value in '(…)', found ')'", 15],
    ['and', "expected a field, a macro or '(', found 'and'", 1],
    ['a ! b', "unexpected '!' (did you mean '!=' or 'not'?)", 3],
    ['a = and', "expected a value, found the keyword 'and'", 5],
    ['a = 1 or', "expected a field, a macro or '(', found the end of the condition", 9],
  ])('reports %j with a message and column', (text, message, col) => {
    expect(errorOf(text)).toEqual({ message, col, line: 1 });
  });
});

const names = fc.constantFrom('process.name', 'user.id', 'vmi.gpa', 'a', 'b_c', 'x.y.z');
const literal: fc.Arbitrary<Literal> = fc.oneof(
  fc
    .string({ maxLength: 8 })
    .map((text): Literal => ({ kind: 'string', text, at: { file: '', line: 1, col: 1 } })),
  fc
    .integer({ min: -1000, max: 1000 })
    .map((n): Literal => ({ kind: 'number', text: String(n), at: { file: '', line: 1, col: 1 } })),
  fc
    .constantFrom('/tmp/', 'bash', '*.so', 'C:\\x')
    .map((text): Literal => ({ kind: 'word', text, at: { file: '', line: 1, col: 1 } })),
);
const at = { file: '', line: 1, col: 1 };
const conditionArbitrary: fc.Arbitrary<Condition> = fc.letrec<{ node: Condition }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc
      .record({
        field: names,
        operator: fc.constantFrom(...COMPARISON_OPERATORS.filter((op) => op !== 'in')),
        value: literal,
      })
      .map(({ field, operator, value }): Condition => ({
        kind: 'compare',
        field,
        operator,
        values: [value],
        at,
      })),
    fc
      .record({
        field: names,
        operator: fc.constantFrom(
          ...COMPARISON_OPERATORS.filter((op) => /^[a-z]+$/.test(op) && op !== 'in'),
        ),
        values: fc.array(literal, { minLength: 1, maxLength: 3 }),
      })
      .map(({ field, operator, values }): Condition => ({
        kind: 'compare',
        field,
        operator,
        values,
        grouped: true,
        at,
      })),
    fc
      .record({ field: names, values: fc.array(literal, { minLength: 1, maxLength: 3 }) })
      .map(({ field, values }): Condition => ({
        kind: 'compare',
        field,
        operator: 'in',
        values,
        at,
      })),
    names.map((field): Condition => ({ kind: 'exists', field, at })),
    fc.constantFrom('m1', 'spawned').map((name): Condition => ({ kind: 'macro', name, at })),
    fc.boolean().map((value): Condition => ({ kind: 'bool', value, at })),
    fc
      .record({
        left: tie('node'),
        right: tie('node'),
        kind: fc.constantFrom('and' as const, 'or' as const),
      })
      .map(({ left, right, kind }): Condition => junction(kind, [left, right], at)),
    tie('node').map((operand): Condition => ({ kind: 'not', operand, at })),
  ),
})).node;

describe('formatCondition', () => {
  it('writes text that parses back to the same tree, whatever the strings hold', () => {
    fc.assert(
      fc.property(conditionArbitrary, (condition) => {
        expect(shape(parse(formatCondition(condition)))).toEqual(shape(condition));
      }),
      { numRuns: 500 },
    );
  });
});
