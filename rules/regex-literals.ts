// The literal texts a regex cannot match without: a set of strings one of which every match contains
// (RE2's "prefilter" idea), so the engine can find regex rules through its substring index.

/**
 * What a piece of regex tells about its matches: `exact`, every string it can match (when there are
 * few); else `must`, strings one of which every match contains; neither when nothing is known.
 */
interface Info {
  exact?: string[];
  must?: string[];
}

const MAX_EXACT = 16;
const NOTHING: Info = {};

/** A set of strings one of which every match contains, or undefined. */
function mustOf(info: Info): string[] | undefined {
  const set = info.exact ?? info.must;
  if (set === undefined || set.length === 0 || set.some((text) => text === '')) return undefined;
  return set;
}

/** The more selective of two `must` sets: the longer shortest string, then the fewer strings. */
function better(a: string[] | undefined, b: string[] | undefined): string[] | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const shortest = (set: string[]): number => Math.min(...set.map((text) => text.length));
  return shortest(a) !== shortest(b)
    ? shortest(a) > shortest(b)
      ? a
      : b
    : a.length <= b.length
      ? a
      : b;
}

function concat(parts: Info[]): Info {
  // `run`: the strings the pieces since the last break match exactly (one of them, whole).
  let run: string[] | undefined = [''];
  let must: string[] | undefined;
  let broken = false;
  for (const part of parts) {
    if (
      run !== undefined &&
      part.exact !== undefined &&
      run.length * part.exact.length <= MAX_EXACT
    ) {
      const next: string[] = [];
      for (const left of run) for (const right of part.exact) next.push(left + right);
      run = [...new Set(next)];
      continue;
    }
    // The run ends here: keep it as a candidate, and this piece's own; a new run starts after.
    broken = true;
    if (run !== undefined) must = better(must, mustOf({ exact: run }));
    must = better(must, mustOf(part));
    run = part.exact;
  }
  if (!broken) return { exact: run! };
  if (run !== undefined) must = better(must, mustOf({ exact: run }));
  return must === undefined ? NOTHING : { must };
}

function alternate(options: Info[]): Info {
  if (options.every((option) => option.exact !== undefined)) {
    const all = [...new Set(options.flatMap((option) => option.exact!))];
    if (all.length <= MAX_EXACT) return { exact: all };
  }
  const sets = options.map(mustOf);
  if (sets.some((set) => set === undefined)) return NOTHING;
  return { must: [...new Set(sets.flatMap((set) => set!))] };
}

/** A regex in RE2 syntax, read as far as the subset this understands; throws Unknown beyond it. */
class Unknown extends Error {}

class Reader {
  private at = 0;
  constructor(private readonly source: string) {}

  parse(): Info {
    const info = this.alternation();
    if (this.at !== this.source.length) throw new Unknown();
    return info;
  }

  private peek(): string | undefined {
    return this.source[this.at];
  }

  private alternation(): Info {
    const options = [this.sequence()];
    while (this.peek() === '|') {
      this.at += 1;
      options.push(this.sequence());
    }
    return options.length === 1 ? options[0]! : alternate(options);
  }

  private sequence(): Info {
    const parts: Info[] = [];
    for (;;) {
      const char = this.peek();
      if (char === undefined || char === '|' || char === ')') break;
      parts.push(this.quantified(this.atom()));
    }
    return concat(parts);
  }

  private quantified(info: Info): Info {
    const char = this.peek();
    let minimum: number;
    if (char === '*' || char === '?') minimum = 0;
    else if (char === '+') minimum = 1;
    else if (char === '{') {
      const match = /^\{(\d+)(,\d*)?\}/.exec(this.source.slice(this.at, this.at + 24));
      if (match === null) return info; // a literal `{`, as RE2 reads one that opens no repeat
      this.at += match[0].length - 1;
      minimum = Number(match[1]);
    } else return info;
    this.at += 1;
    if (this.peek() === '?') this.at += 1; // lazy: the same strings
    if (this.peek() === '*' || this.peek() === '+' || this.peek() === '?') throw new Unknown();
    // Repeated at least once, a match holds one of its strings; maybe repeated zero times, nothing
    // is known (and the piece is not exact: `ab*c` matches `abbc`).
    return minimum === 0 ? NOTHING : { must: mustOf(info) };
  }

  private atom(): Info {
    const char = this.source[this.at]!;
    this.at += 1;
    switch (char) {
      case '(': {
        if (this.peek() === '?') {
          // Only non-capturing and named groups; flags such as (?i) change what is literal.
          const rest = this.source.slice(this.at);
          const named = /^\?(?:P?<[A-Za-z_][A-Za-z0-9_]*>|:)/.exec(rest);
          if (named === null) throw new Unknown();
          this.at += named[0].length;
        }
        const inner = this.alternation();
        if (this.peek() !== ')') throw new Unknown();
        this.at += 1;
        return inner;
      }
      case '[':
        return this.characterClass();
      case '.':
        return NOTHING;
      case '^':
      case '$':
        return { exact: [''] };
      case '\\':
        return this.escape();
      case '*':
      case '+':
      case '?':
      case ')':
        throw new Unknown();
      default:
        return { exact: [char] };
    }
  }

  private escape(): Info {
    const char = this.source[this.at];
    if (char === undefined) throw new Unknown();
    this.at += 1;
    if ('dDsSwWpP'.includes(char)) {
      if ((char === 'p' || char === 'P') && this.peek() === '{') {
        const close = this.source.indexOf('}', this.at);
        if (close < 0) throw new Unknown();
        this.at = close + 1;
      } else if (char === 'p' || char === 'P') this.at += 1;
      return NOTHING;
    }
    if (char === 'b' || char === 'B' || char === 'A' || char === 'z') return { exact: [''] };
    const controls: Record<string, string> = { t: '\t', n: '\n', r: '\r', f: '\f', v: '\v' };
    if (char in controls) return { exact: [controls[char]!] };
    // Any other escaped punctuation stands for itself; letters and digits (\x, \1, \Q) are beyond us.
    if (/[A-Za-z0-9]/.test(char)) throw new Unknown();
    return { exact: [char] };
  }

  /** `[…]`: a few plain characters give their set; anything else (ranges, negation) nothing. */
  private characterClass(): Info {
    const members: string[] = [];
    let plain = true;
    if (this.peek() === '^') {
      plain = false;
      this.at += 1;
    }
    // A `]` first in the class is a member.
    for (let first = true; ; first = false) {
      const char = this.source[this.at];
      if (char === undefined) throw new Unknown();
      this.at += 1;
      if (char === ']' && !first) break;
      if (char === '[' && this.peek() === ':') {
        // [:alpha:] and the like
        const close = this.source.indexOf(':]', this.at);
        if (close < 0) throw new Unknown();
        this.at = close + 2;
        plain = false;
      } else if (char === '\\') {
        const escaped = this.source[this.at];
        if (escaped === undefined) throw new Unknown();
        this.at += 1;
        if (/[A-Za-z0-9]/.test(escaped)) plain = false;
        else members.push(escaped);
      } else if (char === '-' && !first && this.peek() !== ']') plain = false;
      else members.push(char);
    }
    return plain && members.length > 0 && members.length <= 4
      ? { exact: [...new Set(members)] }
      : NOTHING;
  }
}

/**
 * Strings one of which any match of `source` (RE2 syntax, unanchored search) contains, each at least
 * `minimum` long; undefined when the regex guarantees none (or uses syntax this does not read).
 */
export function requiredLiterals(source: string, minimum = 2): string[] | undefined {
  let info: Info;
  try {
    info = new Reader(source).parse();
  } catch (error) {
    if (error instanceof Unknown) return undefined;
    throw error;
  }
  const set = mustOf(info);
  if (set === undefined || set.some((text) => text.length < minimum)) return undefined;
  return set;
}
