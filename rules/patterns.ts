// Text patterns matched in time linear in the guest's string: globs by a segment matcher (never a
// regex), regexes by RE2 (re2js, no backtracking). Guest strings are hostile; no pattern may stall.
import { RE2JS } from 're2js';

/** What `glob` and `regex` comparisons test a string with. */
export interface TextPattern {
  test(text: string): boolean;
}

/** One character position of a glob: a literal, `?`, or a `[…]` class. */
type Atom =
  | { kind: 'char'; code: number }
  | { kind: 'any' }
  | { kind: 'class'; negate: boolean; ranges: [number, number][] };

function atomMatches(atom: Atom, code: number): boolean {
  if (atom.kind === 'char') return atom.code === code;
  if (atom.kind === 'any') return true;
  let inside = false;
  for (const [low, high] of atom.ranges)
    if (code >= low && code <= high) {
      inside = true;
      break;
    }
  return inside !== atom.negate;
}

function segmentAt(segment: Atom[], text: string, start: number): boolean {
  for (let index = 0; index < segment.length; index += 1)
    if (!atomMatches(segment[index]!, text.charCodeAt(start + index))) return false;
  return true;
}

/**
 * Splits a glob into the runs of atoms between its `*`s. `[abc]`, `[!abc]`, ranges `[a-z]`; a `]`
 * right after `[` is a member; a `[` with no `]` two or more characters on is a literal.
 */
function segments(glob: string): Atom[][] {
  const out: Atom[][] = [[]];
  for (let index = 0; index < glob.length; index += 1) {
    const char = glob[index]!;
    const current = out[out.length - 1]!;
    if (char === '*') {
      out.push([]);
      continue;
    }
    if (char === '?') {
      current.push({ kind: 'any' });
      continue;
    }
    const close = char === '[' ? glob.indexOf(']', index + 2) : -1;
    if (close < 0) {
      current.push({ kind: 'char', code: glob.charCodeAt(index) });
      continue;
    }
    let body = glob.slice(index + 1, close);
    const negate = body.startsWith('!');
    if (negate) body = body.slice(1);
    index = close;
    const ranges: [number, number][] = [];
    for (let at = 0; at < body.length; at += 1) {
      const low = body.charCodeAt(at);
      if (body[at + 1] === '-' && at + 2 < body.length) {
        ranges.push([low, body.charCodeAt(at + 2)]);
        at += 2;
      } else ranges.push([low, low]);
    }
    current.push({ kind: 'class', negate, ranges });
  }
  return out;
}

/**
 * A glob (`*`, `?`, `[abc]`, `[!abc]`) matched against the whole text; `*` also crosses `/`, like
 * fnmatch without FNM_PATHNAME. Each segment between stars is placed at its leftmost fit, which is
 * exact for globs and costs at most text length × pattern length character tests.
 */
export function compileGlob(glob: string): TextPattern {
  const parts = segments(glob);
  const first = parts[0]!;
  if (parts.length === 1)
    return {
      test: (text) => text.length === first.length && segmentAt(first, text, 0),
    };
  const last = parts[parts.length - 1]!;
  const middle = parts.slice(1, -1).filter((segment) => segment.length > 0);
  const fixed = first.length + last.length;
  return {
    test(text) {
      if (text.length < fixed) return false;
      if (!segmentAt(first, text, 0)) return false;
      const end = text.length - last.length;
      if (!segmentAt(last, text, end)) return false;
      let position = first.length;
      for (const segment of middle) {
        let found = -1;
        for (let start = position; start + segment.length <= end; start += 1)
          if (segmentAt(segment, text, start)) {
            found = start;
            break;
          }
        if (found < 0) return false;
        position = found + segment.length;
      }
      return true;
    },
  };
}

/** A regex in RE2 syntax, searched anywhere in the text; throws a readable error if it does not compile. */
export function compileRegex(source: string): TextPattern {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(source);
  } catch (error) {
    const message = (error as Error).message.replace(/^error parsing regexp: /, '');
    throw new Error(
      /Perl syntax|escape sequence: `\\[1-9]/.test(message)
        ? `${message} (lookaround and backreferences need a backtracking matcher, which guest data could stall; Ringside regexes are RE2)`
        : message,
      { cause: error },
    );
  }
  return { test: (text) => compiled.test(text) };
}
