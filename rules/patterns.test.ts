import fc from 'fast-check';
import { compileGlob, compileRegex } from './patterns.js';

/** The reference: the glob as an anchored regex, escaped character by character (fine for tests). */
function globReference(glob: string): RegExp {
  let pattern = '^';
  for (let index = 0; index < glob.length; index += 1) {
    const char = glob[index]!;
    if (char === '*') pattern += '[^]*';
    else if (char === '?') pattern += '[^]';
    else if (char === '[' && glob.indexOf(']', index + 2) >= 0) {
      const close = glob.indexOf(']', index + 2);
      let body = glob.slice(index + 1, close);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      let set = '';
      for (let at = 0; at < body.length; at += 1) {
        const escape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
        if (body[at + 1] === '-' && at + 2 < body.length) {
          if (body.charCodeAt(at) <= body.charCodeAt(at + 2))
            set += `${escape(body[at]!)}-${escape(body[at + 2]!)}`;
          at += 2;
        } else set += escape(body[at]!);
      }
      pattern += set === '' ? (negate ? '[^]' : '[]') : `[${negate ? '^' : ''}${set}]`;
      index = close;
    } else pattern += `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  }
  return new RegExp(`${pattern}$`);
}

describe('compileGlob', () => {
  it.each([
    ['/tmp/*', '/tmp/a/b', true],
    ['/tmp/*', '/tmpx', false],
    ['*.so', 'lib.so', true],
    ['?sh', 'bsh', true],
    ['?sh', 'sh', false],
    ['[bz]sh', 'zsh', true],
    ['[!bz]sh', 'zsh', false],
    ['[a-c]x', 'bx', true],
    ['[a-c]x', 'dx', false],
    ['a.b', 'axb', false],
    ['(x)|y', '(x)|y', true],
    ['[abc', '[abc', true],
    ['*-e /bin/sh*', 'nc -e /bin/sh', true],
    ['*a*b*a', 'abba', true],
    ['*a*b*a', 'abab', false],
    ['**', '', true],
    ['a*a', 'a', false],
  ])('%s on %s is %s', (glob, text, expected) => {
    expect(compileGlob(glob).test(text)).toBe(expected);
  });

  it('agrees with a regex reference on random globs and texts', () => {
    const char = fc.constantFrom('a', 'b', '-', '/', '*', '?', '[', ']', '!', '.');
    fc.assert(
      fc.property(
        fc.array(char, { maxLength: 8 }).map((chars) => chars.join('')),
        fc.array(fc.constantFrom('a', 'b', '-', '/', '[', ']', '!', '.'), { maxLength: 10 }),
        (glob, chars) => {
          const text = chars.join('');
          expect(compileGlob(glob).test(text)).toBe(globReference(glob).test(text));
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('compileRegex', () => {
  it('searches anywhere, in RE2 syntax', () => {
    expect(compileRegex('b+c').test('abbbcd')).toBe(true);
    expect(compileRegex('^b').test('ab')).toBe(false);
  });

  it('refuses lookaround and backreferences with a reason', () => {
    expect(() => compileRegex('(?=a)')).toThrow(/RE2/);
    expect(() => compileRegex('(a)\\1')).toThrow(/RE2/);
  });
});
