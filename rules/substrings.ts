// A multi-pattern substring index (Aho–Corasick): one pass over a text finds every indexed pattern
// it contains, however many there are. The engine uses it to share `contains` tests across rules.

interface SubstringNode<T> {
  next: Map<number, SubstringNode<T>>;
  fail: SubstringNode<T> | undefined;
  /** Items of the patterns that end here. */
  own: T[];
  /** Item lists of every pattern that ends here, this node's own and its suffixes' (after build). */
  outputs: T[][];
  /** Position in breadth-first order: the node's row in the transition table. */
  id: number;
}

const node = <T>(): SubstringNode<T> => ({
  next: new Map(),
  fail: undefined,
  own: [],
  outputs: [],
  id: 0,
});

/** Above this many table cells (states × character classes) the index walks its trie instead. */
const MAX_TABLE = 8_000_000;

/**
 * The pre-filter: one short piece of each pattern (at most GRAM code units), all in one native
 * regular expression run before the scan; a text with none of them holds no pattern, and is not
 * scanned. A plain alternation of literals this short costs a bounded number of steps per text
 * position (no quantifier, no group: nothing to backtrack into), so the test stays linear in the
 * text; above MAX_GRAMS distinct pieces the index goes without it.
 */
const GRAM = 4;
const MAX_GRAMS = 256;
/** Characters frequent in command lines and paths: a piece made of them is a poor filter. */
const COMMON = new Set(' -/.=_:0123456789etaoinsrlcdhpmu');

/** The piece of `pattern` (already case-folded) least likely to occur in ordinary text. */
function rarestGram(pattern: string): string {
  if (pattern.length <= GRAM) return pattern;
  let best = 0;
  let bestScore = Infinity;
  for (let start = 0; start + GRAM <= pattern.length; start += 1) {
    let score = 0;
    for (let index = start; index < start + GRAM; index += 1)
      if (COMMON.has(pattern[index]!)) score += 1;
    if (score < bestScore) {
      best = start;
      bestScore = score;
    }
  }
  return pattern.slice(best, best + GRAM);
}

/**
 * A piece worth filtering on: a full-length one with a character beyond COMMON. One short or common
 * piece (` -c `, `-r`) lets nearly every command line through, and the test would be spent for
 * nothing; such an index scans every text, as it did before the pre-filter.
 */
const telling = (gram: string): boolean =>
  gram.length === GRAM && [...gram].some((char) => !COMMON.has(char));

/** Whether a pattern is seldom found in ordinary text: its rarest piece is telling. */
export const seldomFound = (pattern: string): boolean => telling(rarestGram(pattern.toLowerCase()));

const isAscii = (text: string): boolean => {
  for (let index = 0; index < text.length; index += 1)
    if (text.charCodeAt(index) > 0x7f) return false;
  return true;
};
/**
 * The only characters beyond ASCII whose toLowerCase() holds an ASCII character: İ (to i and a dot
 * above) and the Kelvin sign (to k); substrings.test.ts checks this against every code point.
 */
export const FOLDS_TO_ASCII = '\u0130\u212a';

/**
 * A literal in a regular expression's source (no flags): digits as they are, ASCII letters as they
 * are or, with `bothCases`, as a class of both ([aA]), everything else \uXXXX.
 */
function literal(text: string, bothCases: boolean): string {
  let source = '';
  for (const char of text) {
    if (/^[0-9]$/.test(char)) source += char;
    else if (/^[a-zA-Z]$/.test(char))
      source += bothCases ? `[${char.toLowerCase()}${char.toUpperCase()}]` : char;
    else
      for (let index = 0; index < char.length; index += 1)
        source += `\\u${char.charCodeAt(index).toString(16).padStart(4, '0')}`;
  }
  return source;
}

/**
 * After build(), the trie is also compiled to a dense automaton: one row per node, one column per
 * character class (every code unit that occurs in a pattern has its own class, all others share
 * class 0), so a scan costs one table read per character and allocates nothing. With `ignoreCase`,
 * patterns are lowered when added and ASCII letters of the text are folded by the class map; a text
 * with a non-ASCII character is lowered whole (String.prototype.toLowerCase) and scanned again, so
 * the answer is exactly that of `text.toLowerCase().includes(pattern.toLowerCase())`.
 */
export class SubstringIndex<T> {
  private readonly root: SubstringNode<T> = node();
  private built = false;
  private table: Int32Array | undefined;
  private width = 0;
  private readonly asciiClass = new Uint16Array(128);
  private readonly otherClass = new Map<number, number>();
  private outputsById: T[][][] = [];
  private readonly patterns: string[] = [];
  /** False for a text that holds no pattern (see GRAM); undefined when there is none. */
  private prefilter: RegExp | undefined;

  /** `maxTable`: the most table cells to build (beyond it the trie is walked instead). */
  constructor(
    private readonly ignoreCase = false,
    private readonly maxTable = MAX_TABLE,
  ) {}

  /** Files `item` under `pattern` (the same item may sit under several patterns). */
  add(pattern: string, item: T): void {
    if (this.built) throw new Error('SubstringIndex.add after build');
    const text = this.ignoreCase ? pattern.toLowerCase() : pattern;
    this.patterns.push(text);
    let current = this.root;
    for (let index = 0; index < text.length; index += 1) {
      const code = text.charCodeAt(index);
      let child = current.next.get(code);
      if (child === undefined) {
        child = node();
        current.next.set(code, child);
      }
      current = child;
    }
    if (!current.own.includes(item)) current.own.push(item);
  }

  /** Links every node to its longest proper suffix in the trie, breadth first, then the table. */
  build(): void {
    const queue: SubstringNode<T>[] = [this.root];
    this.root.outputs = this.root.own.length > 0 ? [this.root.own] : [];
    for (const child of this.root.next.values()) {
      child.fail = this.root;
      queue.push(child);
    }
    for (let head = 1; head < queue.length; head += 1) {
      const current = queue[head]!;
      current.id = head;
      const fail = current.fail!;
      current.outputs = current.own.length > 0 ? [current.own, ...fail.outputs] : fail.outputs;
      for (const [code, child] of current.next) {
        let candidate: SubstringNode<T> | undefined = fail;
        while (candidate !== undefined && !candidate.next.has(code)) candidate = candidate.fail;
        child.fail = candidate === undefined ? this.root : candidate.next.get(code)!;
        queue.push(child);
      }
    }
    this.built = true;
    this.compileTable(queue);
    this.compilePrefilter();
  }

  /**
   * With `ignoreCase`, an ASCII piece is in the lowered text exactly when the text holds it in some
   * case, or holds one of the two characters toLowerCase folds onto ASCII letters (FOLDS_TO_ASCII); a
   * piece with a non-ASCII character lets every text with one through to the scan. Cases are spelt
   * out ([bB]) rather than left to the `i` flag, whose alternations V8 gets wrong for the Kelvin
   * sign (/k|ka|\u212a/i does not match "\u212a").
   */
  private compilePrefilter(): void {
    if (this.patterns.includes('')) return;
    const grams = [...new Set(this.patterns.map(rarestGram))];
    if (grams.length === 0 || grams.length > MAX_GRAMS || !grams.every(telling)) return;
    const alternatives = grams.map((gram) => literal(gram, this.ignoreCase));
    if (this.ignoreCase)
      alternatives.push(
        grams.every(isAscii) ? `[${literal(FOLDS_TO_ASCII, false)}]` : '[^\\u0000-\\u007f]',
      );
    this.prefilter = new RegExp(alternatives.join('|'));
  }

  private compileTable(nodes: SubstringNode<T>[]): void {
    const codes = new Set<number>();
    for (const current of nodes) for (const code of current.next.keys()) codes.add(code);
    const width = codes.size + 1;
    if (nodes.length * width > this.maxTable) return;
    let next = 1;
    for (const code of codes) {
      if (code < 128) this.asciiClass[code] = next;
      else this.otherClass.set(code, next);
      next += 1;
    }
    if (this.ignoreCase)
      for (let code = 65; code <= 90; code += 1)
        this.asciiClass[code] = this.asciiClass[code + 32]!;
    const table = new Int32Array(nodes.length * width);
    const classCodes: [number, number][] = [...codes].map((code) => [code, this.classOf(code)]);
    // A cell holds the next state's row offset (id × width, so the scan needs no multiply), bit-
    // inverted (negative) when patterns end in that state (so the scan needs no second lookup).
    // The root's outputs (an empty pattern) are visited once, before a scan, never from a cell.
    const cell = (target: SubstringNode<T>): number =>
      target !== this.root && target.outputs.length > 0 ? ~(target.id * width) : target.id * width;
    // Breadth first, so a node's fail target (shallower) has its row filled before the node's.
    for (const current of nodes) {
      const row = current.id * width;
      const failRow = current === this.root ? -1 : current.fail!.id * width;
      for (const [code, klass] of classCodes) {
        const child = current.next.get(code);
        table[row + klass] =
          child !== undefined ? cell(child) : failRow < 0 ? 0 : table[failRow + klass]!;
      }
    }
    this.table = table;
    this.width = width;
    this.outputsById = nodes.map((current) => current.outputs);
  }

  private classOf(code: number): number {
    return code < 128 ? this.asciiClass[code]! : (this.otherClass.get(code) ?? 0);
  }

  /**
   * Calls `visit` with the item list of each pattern found, once per place it ends in `text` (with
   * `ignoreCase`, a list found before a non-ASCII character may be visited again by the rescan).
   */
  scan(text: string, visit: (items: T[]) => void): void {
    if (!this.built) throw new Error('SubstringIndex.scan before build');
    for (const items of this.root.outputs) visit(items);
    if (this.prefilter !== undefined && !this.prefilter.test(text)) return;
    const table = this.table;
    if (table === undefined) {
      this.walk(this.ignoreCase ? text.toLowerCase() : text, visit);
      return;
    }
    const { asciiClass } = this;
    let row = 0;
    for (let index = 0; index < text.length; index += 1) {
      const code = text.charCodeAt(index);
      let klass: number;
      if (code < 128) klass = asciiClass[code]!;
      else if (this.ignoreCase) {
        this.rescan(text.toLowerCase(), visit);
        return;
      } else klass = this.otherClass.get(code) ?? 0;
      row = table[row + klass]!;
      if (row < 0) row = this.found(~row, visit);
    }
  }

  /** Visits the patterns ending in the state at `row`; returns the row. */
  private found(row: number, visit: (items: T[]) => void): number {
    for (const items of this.outputsById[row / this.width]!) visit(items);
    return row;
  }

  /** The table scan of an already lowered text (no case folding left to do). */
  private rescan(text: string, visit: (items: T[]) => void): void {
    const table = this.table!;
    let row = 0;
    for (let index = 0; index < text.length; index += 1) {
      row = table[row + this.classOf(text.charCodeAt(index))]!;
      if (row < 0) row = this.found(~row, visit);
    }
  }

  /** The trie walk, for an index too large for its table. */
  private walk(text: string, visit: (items: T[]) => void): void {
    const root = this.root;
    let current = root;
    for (let index = 0; index < text.length; index += 1) {
      const code = text.charCodeAt(index);
      let next = current.next.get(code);
      while (next === undefined && current !== root) {
        current = current.fail!;
        next = current.next.get(code);
      }
      current = next ?? root;
      // The root's outputs (an empty pattern) were visited once, before the loop.
      if (current === root) continue;
      for (const items of current.outputs) visit(items);
    }
  }
}
