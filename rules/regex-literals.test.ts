import fc from 'fast-check';
import { RE2JS } from 're2js';
import { requiredLiterals } from './regex-literals.js';

describe('requiredLiterals', () => {
  it('finds the literals a match cannot do without', () => {
    expect(requiredLiterals(`-(W|R)\\s?(\\s|"|')([0-9a-fA-F]{2}\\s?){2,20}(\\s|"|')`)).toEqual([
      '-W',
      '-R',
    ]);
    expect(requiredLiterals('\\s-O\\s')).toEqual(['-O']);
    expect(requiredLiterals('(?:\\s-[^-\\s]{0,20}i|\\s--inode\\s)')).toBeUndefined();
    expect(requiredLiterals('base64 (-d|--decode)')).toEqual(['base64 -d', 'base64 --decode']);
    expect(requiredLiterals('/etc/(passwd|shadow)$')).toEqual(['/etc/passwd', '/etc/shadow']);
    expect(requiredLiterals('ab*c', 1)).toEqual(['a']);
    expect(requiredLiterals('ab*c')).toBeUndefined();
    expect(requiredLiterals('nc(at)? -e')).toEqual([' -e']);
  });

  it('gives nothing it cannot prove: flags, classes, optional pieces, short literals', () => {
    for (const source of ['(?i)evil', 'a*', '.+', '[a-z]+x', '(a|.)b', 'x?', '\\x41bc', ''])
      expect(requiredLiterals(source)).toBeUndefined();
  });

  it('never misses a match: every text RE2 matches holds one of the literals', () => {
    const piece = fc.oneof(
      fc.constantFrom('a', 'b', '-', ' ', '.', '[ab]', '[^a]', '\\s', '\\-', '^', '$', '[-a]'),
      fc.constantFrom('ab', 'b-a', 'a b'),
    );
    const quantifier = fc.constantFrom('', '', '', '*', '+', '?', '{2}', '{0,2}', '{1,3}', '+?');
    const regex: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc
          .array(fc.tuple(piece, quantifier), { minLength: 1, maxLength: 5 })
          .map((parts) => parts.map(([p, q]) => p + q).join('')),
        fc
          .array(tie('node'), { minLength: 1, maxLength: 3 })
          .chain((options) =>
            fc
              .tuple(fc.constantFrom('(', '(?:'), quantifier)
              .map(([open, q]) => `${open}${options.join('|')})${q}`),
          ),
        fc.array(tie('node'), { minLength: 2, maxLength: 3 }).map((parts) => parts.join('')),
      ),
    })).node;
    let checked = 0;
    fc.assert(
      fc.property(
        regex,
        fc.array(fc.stringMatching(/^[ab\- ]{0,12}$/), { minLength: 20, maxLength: 20 }),
        (source, texts) => {
          let compiled: RE2JS;
          try {
            compiled = RE2JS.compile(source);
          } catch {
            return;
          }
          const literals = requiredLiterals(source, 1);
          if (literals === undefined) return;
          for (const text of texts)
            if (compiled.test(text)) {
              checked += 1;
              expect(literals.some((literal) => text.includes(literal))).toBe(true);
            }
        },
      ),
      { numRuns: 1000, seed: 15 },
    );
    // The property must have met real cases, not only regexes it gave up on.
    expect(checked).toBeGreaterThan(150);
  });
});
