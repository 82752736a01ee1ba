// The shapes the rule pipeline passes between its stages: source locations, literals and the condition
// AST. Every AST node carries the file, line and column it came from.
export interface Location {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
}

export type ComparisonOperator =
  | '='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | 'in'
  | 'contains'
  | 'icontains'
  | 'startswith'
  | 'endswith'
  | 'glob'
  | 'regex'
  | 'cidr'
  // Falco's: path prefixes, set overlap, and byte matches written in hex.
  | 'pmatch'
  | 'intersects'
  | 'bcontains'
  | 'bstartswith';

export const COMPARISON_OPERATORS: readonly ComparisonOperator[] = [
  '=',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'in',
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
];

/** A literal as written: its type is decided by the field it is compared with. */
export interface Literal {
  /** `list` is a bare list name after `in` (`process.name in shell_binaries`). */
  kind: 'string' | 'number' | 'word' | 'list';
  text: string;
  at: Location;
}

export type Condition =
  /** Two or more operands, flat: a long `or` is one node, never a deep chain. */
  | { kind: 'and' | 'or'; operands: Condition[]; at: Location }
  | { kind: 'not'; operand: Condition; at: Location }
  | { kind: 'exists'; field: string; at: Location }
  | {
      kind: 'compare';
      field: string;
      operator: ComparisonOperator;
      /**
       * One value, or several for `in (…)` and for the string operators given a parenthesised set
       * (`startswith (/tmp/, /dev/shm/)`: any of them). List names inside parentheses are expanded.
       */
      values: Literal[];
      /** The values were written in parentheses (a set). */
      grouped?: boolean;
      at: Location;
    }
  | { kind: 'macro'; name: string; at: Location }
  | { kind: 'bool'; value: boolean; at: Location };

/** A value after type checking: what the compiled predicate compares with. */
export type TypedValue = string | number | bigint | boolean;

/** Deepest nesting a condition may reach (parentheses, `not`, macros inside macros). */
export const MAX_CONDITION_DEPTH = 200;

/** `and`/`or` of the parts, flattening parts of the same kind; one part is itself. */
export function junction(kind: 'and' | 'or', parts: Condition[], at: Location): Condition {
  const operands: Condition[] = [];
  for (const part of parts)
    if (part.kind === kind) operands.push(...part.operands);
    else operands.push(part);
  if (operands.length === 1) return operands[0]!;
  if (operands.length === 0) return { kind: 'bool', value: kind === 'and', at };
  return { kind, operands, at };
}
