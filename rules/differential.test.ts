// The compiled engine against the reference interpreter on random conditions and events: leaf by leaf
// (compileCondition) and rule set by rule set (RuleEngine with its type and value indexes).
import fc from 'fast-check';
import type { VmiEvent } from '../introspect/events/event.js';
import { checkCondition } from './check.js';
import type { Checked } from './check.js';
import { CompileContext, compileCondition } from './compile.js';
import { DiagnosticBag } from './diagnostics.js';
import { RuleEngine } from './engine.js';
import type { Matcher } from './engine.js';
import { interpret } from './interpret.js';
import type { LoadedRule } from './load.js';
import type { ComparisonOperator, Condition, Literal } from './types.js';
import { junction } from './types.js';

const at = { file: 'gen', line: 1, col: 1 };
const names = ['bash', 'sh', 'nginx', 'sshd', 'Bash', 'cron', ''];
const paths = ['/tmp/x', '/dev/shm/a.so', '/usr/bin/bash', '/bin/sh', '/tmp/', 'relative'];
const types = ['process.exec', 'module.load', 'kernel.write', 'cred.change', 'breakpoint'];
const ips = ['10.1.2.3', '192.168.0.1', '::1', 'fe80::1', '10.0.0.0', 'not-an-ip'];
const addresses = [0n, 0x1000n, 0xffffffff81000000n, 0xffffffff81ffffffn, 0xffffffffc0000000n];

const lit = (kind: Literal['kind'], text: string): Literal => ({ kind, text, at });
const textLiteral = fc
  .constantFrom(...names, ...paths, 'tmp', 'sh', '/', 'B')
  .map((t) => lit('string', t));

type LeafSpec = { field: string; operators: ComparisonOperator[]; literal: fc.Arbitrary<Literal> };
const leafSpecs: LeafSpec[] = [
  {
    field: 'type',
    operators: ['=', 'in', '!='],
    literal: fc.constantFrom(...types).map((t) => lit('word', t)),
  },
  {
    field: 'process.name',
    operators: [
      '=',
      '!=',
      'in',
      'contains',
      'icontains',
      'startswith',
      'endswith',
      'glob',
      'regex',
    ],
    literal: textLiteral,
  },
  {
    field: 'process.executable',
    operators: ['=', 'in', 'startswith', 'endswith', 'glob', 'contains'],
    literal: textLiteral,
  },
  {
    field: 'process.args',
    operators: ['=', '!=', 'in', 'contains', 'startswith'],
    literal: textLiteral,
  },
  {
    field: 'user.id',
    operators: ['=', '!=', '<', '<=', '>', '>=', 'in'],
    literal: fc.integer({ min: -1, max: 3 }).map((n) => lit('number', String(n))),
  },
  {
    field: 'vmi.gpa',
    operators: ['=', '!=', '<', '<=', '>', '>=', 'in'],
    literal: fc.constantFrom(...addresses).map((n) => lit('number', `0x${n.toString(16)}`)),
  },
  {
    field: 'process.kernel_thread',
    operators: ['=', '!='],
    literal: fc.constantFrom('true', 'false').map((t) => lit('word', t)),
  },
  {
    field: 'network.destination_ip',
    operators: ['=', '!=', 'in'],
    literal: fc.constantFrom('10.1.2.3', '::1', '0:0::1', '192.168.0.1').map((t) => lit('word', t)),
  },
];

const regexSafe = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * Globs made from the values events carry, with characters swapped for `?`, `*`, classes or negated
 * classes, so that they often match: the engine indexes globs by their literal parts.
 */
const globFromPools: fc.Arbitrary<string> = fc
  .record({
    base: fc.constantFrom(...names, ...paths),
    edits: fc.array(
      fc.record({
        at: fc.nat(),
        how: fc.constantFrom('?', '*', 'class', 'not', 'star-before', 'open', 'bracket-first'),
      }),
      { maxLength: 3 },
    ),
  })
  .map(({ base, edits }) => {
    let glob = base;
    for (const edit of edits) {
      if (glob.length === 0) glob = '*';
      const index = edit.at % glob.length;
      const char = glob[index]!;
      const replacement =
        edit.how === 'class'
          ? `[${char}z]`
          : edit.how === 'not'
            ? '[!%]'
            : edit.how === 'star-before'
              ? `*${char}`
              : edit.how === 'open'
                ? `[${char}`
                : edit.how === 'bracket-first'
                  ? `[]${char}]`
                  : edit.how;
      glob = glob.slice(0, index) + replacement + glob.slice(index + 1);
    }
    return glob;
  });

const leaf: fc.Arbitrary<Condition> = fc.oneof(
  ...leafSpecs.map((spec) =>
    fc
      .record({
        operator: fc.constantFrom(...spec.operators),
        values: fc.array(spec.literal, { minLength: 1, maxLength: 3 }),
      })
      .map(({ operator, values }): Condition => {
        // `in` and the word operators take sets (`startswith (a, b)`); the symbols take one value.
        let chosen = /^[a-z]+$/.test(operator) ? values : [values[0]!];
        if (operator === 'regex')
          chosen = chosen.map((v) => ({ ...v, text: `^${regexSafe(v.text)}` }));
        return { kind: 'compare', field: spec.field, operator, values: chosen, at };
      }),
  ),
  fc
    .record({
      field: fc.constantFrom('process.name', 'process.executable', 'process.args'),
      patterns: fc.array(globFromPools, { minLength: 1, maxLength: 2 }),
    })
    .map(({ field, patterns }): Condition => ({
      kind: 'compare',
      field,
      operator: 'glob',
      values: patterns.map((pattern) => lit('string', pattern)),
      at,
    })),
  fc.constantFrom('10.0.0.0/8', '::/127', '192.168.0.0/16', '0.0.0.0/0').map((cidr): Condition => ({
    kind: 'compare',
    field: 'network.destination_ip',
    operator: 'cidr',
    values: [lit('word', cidr)],
    at,
  })),
  fc
    .constantFrom('process.name', 'vmi.gpa', 'process.parent.name', 'network.destination_ip')
    .map((field): Condition => ({ kind: 'exists', field, at })),
);

const condition: fc.Arbitrary<Condition> = fc.letrec<{ node: Condition }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc
      .record({
        kind: fc.constantFrom('and' as const, 'or' as const),
        left: tie('node'),
        right: tie('node'),
      })
      .map(({ kind, left, right }): Condition => junction(kind, [left, right], at)),
    tie('node').map((operand): Condition => ({ kind: 'not', operand, at })),
  ),
})).node;

const maybe = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.option(arbitrary, { nil: undefined, freq: 3 });

const event: fc.Arbitrary<VmiEvent> = fc
  .record({
    type: fc.constantFrom(...types),
    name: maybe(fc.constantFrom(...names)),
    executable: maybe(fc.constantFrom(...paths)),
    args: maybe(fc.array(fc.constantFrom(...names, ...paths), { maxLength: 3 })),
    parent: maybe(fc.constantFrom(...names)),
    kernelThread: maybe(fc.boolean()),
    uid: maybe(fc.integer({ min: -1, max: 3 })),
    gpa: maybe(fc.constantFrom(...addresses)),
    ip: maybe(fc.constantFrom(...ips)),
  })
  // Any group on any type: events from a JavaScript plugin are not held to the types' groups, and
  // the engine must not depend on them.
  .map(
    (r) =>
      ({
        type: r.type as VmiEvent['type'],
        domain: 'g',
        time: 0,
        process: {
          ...(r.name === undefined ? {} : { name: r.name }),
          ...(r.executable === undefined ? {} : { executable: r.executable }),
          ...(r.args === undefined ? {} : { args: r.args }),
          ...(r.kernelThread === undefined ? {} : { kernel_thread: r.kernelThread }),
          ...(r.parent === undefined ? {} : { parent: { name: r.parent } }),
        },
        ...(r.uid === undefined ? {} : { user: { id: r.uid } }),
        ...(r.gpa === undefined ? {} : { vmi: { gpa: r.gpa } }),
        ...(r.ip === undefined ? {} : { network: { destination_ip: r.ip } }),
      }) as VmiEvent,
  );

function check(raw: Condition): Checked {
  const bag = new DiagnosticBag();
  const checked = checkCondition(raw, bag);
  if (checked === undefined) throw new Error(bag.items.map((d) => d.message).join('; '));
  return checked;
}

function rule(index: number, checked: Checked): LoadedRule {
  return {
    id: `r${index}`,
    name: `r${index}`,
    description: '',
    severity: 'low',
    mitre: [],
    tags: [],
    output: [],
    fields: [],
    actions: [],
    enabled: true,
    condition: checked,
    correlation: undefined,
    at,
  };
}

describe('compiled conditions vs the reference interpreter', () => {
  it('agree on random conditions and events', () => {
    fc.assert(
      fc.property(condition, fc.array(event, { minLength: 1, maxLength: 8 }), (raw, events) => {
        const checked = check(raw);
        const predicate = compileCondition(checked, new CompileContext());
        for (const e of events) expect(predicate(e)).toBe(interpret(checked, e));
      }),
      { numRuns: 2000 },
    );
  });

  it('agree when leaves are shared and memoised across many rules', () => {
    fc.assert(
      fc.property(
        fc.array(condition, { minLength: 1, maxLength: 12 }),
        fc.array(event, { minLength: 1, maxLength: 8 }),
        (raws, events) => {
          const context = new CompileContext();
          const checked = raws.map(check);
          const predicates = checked.map((c) => compileCondition(c, context));
          for (const e of events)
            predicates.forEach((predicate, index) =>
              expect(predicate(e)).toBe(interpret(checked[index]!, e)),
            );
        },
      ),
      { numRuns: 500 },
    );
  });
});

// Rule conditions shaped like real rules (a type and an anchor) so that the indexes are exercised.
const anchored: fc.Arbitrary<Condition> = fc
  .record({
    rest: condition,
    type: fc.option(fc.array(fc.constantFrom(...types), { minLength: 1, maxLength: 2 }), {
      nil: undefined,
    }),
  })
  .map(({ rest, type }): Condition =>
    type === undefined
      ? rest
      : junction(
          'and',
          [
            {
              kind: 'compare',
              field: 'type',
              operator: 'in',
              values: type.map((t) => lit('word', t)),
              at,
            },
            rest,
          ],
          at,
        ),
  );

describe('RuleEngine indexes vs testing every rule', () => {
  it('find exactly the rules the interpreter finds, in rule order', () => {
    fc.assert(
      fc.property(
        fc.array(anchored, { minLength: 1, maxLength: 30 }),
        fc.array(event, { minLength: 1, maxLength: 10 }),
        (raws, events) => {
          const rules = raws.map((raw, index) => rule(index, check(raw)));
          const engine = new RuleEngine({ rules, files: [] });
          const hits: Matcher[] = [];
          for (const e of events) {
            hits.length = 0;
            engine.match(e, hits);
            const expected = rules.filter((r) => interpret(r.condition!, e)).map((r) => r.id);
            expect(hits.map((hit) => hit.rule.id)).toEqual(expected);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
