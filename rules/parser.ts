// The condition language: a small recursive-descent parser from text to a located AST.
// Nothing here evaluates anything; values stay text until the checker types them by their field.
//
//   condition  := or EOF
//   or         := and ( "or" and )*
//   and        := not ( "and" not )*
//   not        := "not" not | primary
//   primary    := "(" or ")" | "true" | "false" | NAME [ postfix ]      (NAME alone: a macro)
//   postfix    := "exists"
//               | "in" "(" value ( "," value )* ")"                    (a list name inside is expanded)
//               | "in" NAME                                             (a list)
//               | op value
//               | setop "(" value ( "," value )* ")"                 (any of the values)
//   op         := "=" | "!=" | "<" | "<=" | ">" | ">=" | setop
//   setop      := "contains" | "icontains" | "startswith" | "endswith" | "glob" | "regex" | "cidr"
//               | "pmatch" | "intersects" | "bcontains" | "bstartswith"                (Falco's)
//   value      := STRING | NUMBER | WORD
//   STRING     := '…' | "…"         (backslash escapes only \\, \' and \")
//   NUMBER     := -?[0-9]+(.[0-9]+)? | 0x[0-9a-f]+
//   WORD       := any run of characters other than space, quotes, parentheses, comma, = < > !
//   NAME       := [A-Za-z_][A-Za-z0-9_]*(.[A-Za-z0-9_]+)* [ "[" index "]" ]     (proc.aname[2])
import type { SourceText } from './source.js';
import type { ComparisonOperator, Condition, Literal, Location } from './types.js';
import { junction, MAX_CONDITION_DEPTH } from './types.js';
import { canonicalField } from './falco-fields.js';

type TokenKind = '(' | ')' | ',' | 'op' | 'string' | 'word' | 'eof';

interface Token {
  kind: TokenKind;
  text: string;
  offset: number;
}

export interface SyntaxError {
  message: string;
  at: Location;
}

export type ParseResult = { ok: true; condition: Condition } | { ok: false; error: SyntaxError };

const KEYWORD_OPERATORS = new Set<string>([
  'contains',
  'icontains',
  'startswith',
  'endswith',
  'glob',
  'regex',
  'cidr',
  'pmatch',
  'intersects',
  'bcontains',
  'bstartswith',
]);
const RESERVED = new Set<string>([
  'and',
  'or',
  'not',
  'in',
  'exists',
  'true',
  'false',
  ...KEYWORD_OPERATORS,
]);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/;
/** A field with Falco's index or key (`proc.aname[2]`, `container.mount.dest[/proc*]`). */
const INDEXED = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)+\[[^\]\s]+\]$/;
const NUMBER = /^(-?[0-9]+(\.[0-9]+)?|0x[0-9a-fA-F]+)$/;
const WORD_STOP = new Set([' ', '\t', '\n', '\r', '(', ')', ',', '"', "'", '=', '<', '>', '!']);

class ParseFailure extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  while (index < text.length) {
    const char = text[index]!;
    if (char === ' ' || char === '\t' || char === '\n' || char === '\r') {
      index += 1;
    } else if (char === '(' || char === ')' || char === ',') {
      tokens.push({ kind: char, text: char, offset: index });
      index += 1;
    } else if (char === '"' || char === "'") {
      const start = index;
      let value = '';
      index += 1;
      while (index < text.length && text[index] !== char) {
        if (text[index] === '\\' && index + 1 < text.length) {
          const next = text[index + 1]!;
          if (next === '\\' || next === '"' || next === "'") {
            value += next;
            index += 2;
            continue;
          }
        }
        value += text[index];
        index += 1;
      }
      if (index >= text.length) throw new ParseFailure('unterminated string', start);
      index += 1;
      tokens.push({ kind: 'string', text: value, offset: start });
    } else if (char === '=' || char === '<' || char === '>' || char === '!') {
      const two = text.slice(index, index + 2);
      if (two === '!=' || two === '<=' || two === '>=' || two === '==') {
        tokens.push({ kind: 'op', text: two === '==' ? '=' : two, offset: index });
        index += 2;
      } else if (char === '!') {
        throw new ParseFailure("unexpected '!' (did you mean '!=' or 'not'?)", index);
      } else {
        tokens.push({ kind: 'op', text: char, offset: index });
        index += 1;
      }
    } else {
      const start = index;
      while (index < text.length && !WORD_STOP.has(text[index]!)) index += 1;
      tokens.push({ kind: 'word', text: text.slice(start, index), offset: start });
    }
  }
  tokens.push({ kind: 'eof', text: '', offset: text.length });
  return tokens;
}

class Parser {
  private position = 0;
  /** Open parentheses and `not`s around the current point: bounded, so no input overflows the stack. */
  private depth = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly source: SourceText,
  ) {}

  private peek(): Token {
    return this.tokens[this.position]!;
  }

  private next(): Token {
    const token = this.tokens[this.position]!;
    if (token.kind !== 'eof') this.position += 1;
    return token;
  }

  private isWord(text: string): boolean {
    const token = this.peek();
    return token.kind === 'word' && token.text === text;
  }

  private at(token: Token): Location {
    return this.source.locate(token.offset);
  }

  private describe(token: Token): string {
    return token.kind === 'eof'
      ? 'the end of the condition'
      : token.kind === 'string'
        ? `the string "${token.text}"`
        : `'${token.text}'`;
  }

  parseCondition(): Condition {
    const condition = this.parseOr();
    const token = this.peek();
    if (token.kind !== 'eof')
      throw new ParseFailure(
        `expected 'and', 'or' or the end, found ${this.describe(token)}`,
        token.offset,
      );
    return condition;
  }

  private parseOr(): Condition {
    const first = this.parseAnd();
    if (!this.isWord('or')) return first;
    const at = this.at(this.peek());
    const parts = [first];
    while (this.isWord('or')) {
      this.next();
      parts.push(this.parseAnd());
    }
    return junction('or', parts, at);
  }

  private parseAnd(): Condition {
    const first = this.parseNot();
    if (!this.isWord('and')) return first;
    const at = this.at(this.peek());
    const parts = [first];
    while (this.isWord('and')) {
      this.next();
      parts.push(this.parseNot());
    }
    return junction('and', parts, at);
  }

  private enter(token: Token): void {
    this.depth += 1;
    if (this.depth > MAX_CONDITION_DEPTH)
      throw new ParseFailure(
        `parentheses and 'not' nested deeper than ${MAX_CONDITION_DEPTH} levels`,
        token.offset,
      );
  }

  private parseNot(): Condition {
    if (this.isWord('not')) {
      // A run of `not`s is read in a loop, so only the depth limit bounds it.
      const nots: Token[] = [];
      while (this.isWord('not')) {
        const token = this.next();
        this.enter(token);
        nots.push(token);
      }
      let condition = this.parsePrimary();
      for (let index = nots.length - 1; index >= 0; index -= 1)
        condition = { kind: 'not', operand: condition, at: this.at(nots[index]!) };
      this.depth -= nots.length;
      return condition;
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Condition {
    const token = this.next();
    if (token.kind === '(') {
      this.enter(token);
      const inner = this.parseOr();
      this.depth -= 1;
      const close = this.next();
      if (close.kind !== ')')
        throw new ParseFailure(`expected ')', found ${this.describe(close)}`, close.offset);
      return inner;
    }
    if (token.kind === 'word' && (token.text === 'true' || token.text === 'false'))
      return { kind: 'bool', value: token.text === 'true', at: this.at(token) };
    if (
      token.kind !== 'word' ||
      RESERVED.has(token.text) ||
      !(NAME.test(token.text) || INDEXED.test(token.text))
    )
      throw new ParseFailure(
        `expected a field, a macro or '(', found ${this.describe(token)}`,
        token.offset,
      );
    const at = this.at(token);
    const name = canonicalField(token.text);
    const following = this.peek();
    if (following.kind === 'word' && following.text === 'exists') {
      this.next();
      return { kind: 'exists', field: name, at };
    }
    if (following.kind === 'word' && following.text === 'in') {
      this.next();
      return { kind: 'compare', field: name, operator: 'in', values: this.parseInValues(), at };
    }
    if (
      following.kind === 'op' ||
      (following.kind === 'word' && KEYWORD_OPERATORS.has(following.text))
    ) {
      this.next();
      const operator = following.text as ComparisonOperator;
      if (KEYWORD_OPERATORS.has(operator) && this.peek().kind === '(') {
        this.next();
        return {
          kind: 'compare',
          field: name,
          operator,
          values: this.parseValueSet(),
          grouped: true,
          at,
        };
      }
      return { kind: 'compare', field: name, operator, values: [this.parseValue()], at };
    }
    return { kind: 'macro', name, at };
  }

  private parseInValues(): Literal[] {
    const open = this.next();
    if (open.kind === 'word' && NAME.test(open.text) && !RESERVED.has(open.text))
      return [{ kind: 'list', text: open.text, at: this.at(open) }];
    if (open.kind !== '(')
      throw new ParseFailure(
        `expected '(' or a list name after 'in', found ${this.describe(open)}`,
        open.offset,
      );
    return this.parseValueSet();
  }

  /** The values of a set, after its opening parenthesis. */
  private parseValueSet(): Literal[] {
    const values: Literal[] = [];
    if (this.peek().kind === ')')
      throw new ParseFailure("expected a value in '(…)', found ')'", this.peek().offset);
    for (;;) {
      values.push(this.parseValue());
      const separator = this.next();
      if (separator.kind === ')') return values;
      if (separator.kind !== ',')
        throw new ParseFailure(
          `expected ',' or ')', found ${this.describe(separator)}`,
          separator.offset,
        );
    }
  }

  private parseValue(): Literal {
    const token = this.next();
    if (token.kind === 'string') return { kind: 'string', text: token.text, at: this.at(token) };
    if (token.kind === 'word' && token.text !== '') {
      if (RESERVED.has(token.text) && token.text !== 'true' && token.text !== 'false')
        throw new ParseFailure(`expected a value, found the keyword '${token.text}'`, token.offset);
      return {
        kind: NUMBER.test(token.text) ? 'number' : 'word',
        text: token.text,
        at: this.at(token),
      };
    }
    throw new ParseFailure(`expected a value, found ${this.describe(token)}`, token.offset);
  }
}

/** Parses a condition; a syntax error is returned (with its position), not thrown. */
export function parseCondition(source: SourceText): ParseResult {
  try {
    const tokens = tokenize(source.text);
    return { ok: true, condition: new Parser(tokens, source).parseCondition() };
  } catch (error) {
    if (error instanceof ParseFailure)
      return { ok: false, error: { message: error.message, at: source.locate(error.offset) } };
    throw error;
  }
}

const SAFE_WORD = /^[A-Za-z0-9_./:*?@%+-][A-Za-z0-9_./:*?@%+\-[\]{}^$|\\~#&;]*$/;

function formatLiteral(literal: Literal): string {
  if (literal.kind === 'number' || literal.kind === 'list') return literal.text;
  if (literal.kind === 'word' && SAFE_WORD.test(literal.text) && !RESERVED.has(literal.text))
    return literal.text;
  return `"${literal.text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Writes a condition back as text that parses to the same tree (positions aside): used by the Sigma
 * importer and checked by a round-trip property test. Strings are always quoted and escaped.
 */
export function formatCondition(condition: Condition): string {
  const precedence = (node: Condition): number =>
    node.kind === 'or' ? 1 : node.kind === 'and' ? 2 : 3;
  const wrap = (node: Condition, minimum: number): string =>
    precedence(node) < minimum ? `(${formatCondition(node)})` : formatCondition(node);
  switch (condition.kind) {
    case 'or':
      return condition.operands.map((operand) => wrap(operand, 2)).join(' or ');
    case 'and':
      return condition.operands.map((operand) => wrap(operand, 3)).join(' and ');
    case 'not':
      return `not ${wrap(condition.operand, 3)}`;
    case 'bool':
      return condition.value ? 'true' : 'false';
    case 'macro':
      return condition.name;
    case 'exists':
      return `${condition.field} exists`;
    case 'compare':
      if (condition.operator === 'in') {
        const only = condition.values[0];
        if (condition.values.length === 1 && only?.kind === 'list')
          return `${condition.field} in ${only.text}`;
        return `${condition.field} in (${condition.values.map(formatLiteral).join(', ')})`;
      }
      if (condition.grouped === true || condition.values.length !== 1)
        return `${condition.field} ${condition.operator} (${condition.values.map(formatLiteral).join(', ')})`;
      return `${condition.field} ${condition.operator} ${formatLiteral(condition.values[0]!)}`;
  }
}
