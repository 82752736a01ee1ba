// The shapes the rule pipeline passes between its stages: source locations, the condition AST and the
// rule definitions the loader collects. Every AST node carries the file, line and column it came from.
import type { AttackTechnique, Severity } from '../introspect/events/finding.js';

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
  | 'cidr';

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
];

/** A literal as written: its type is decided by the field it is compared with. */
export interface Literal {
  /** `list` is a bare list name after `in` (`process.name in shell_binaries`). */
  kind: 'string' | 'number' | 'word' | 'list';
  text: string;
  at: Location;
}

export type Condition =
  | { kind: 'and'; left: Condition; right: Condition; at: Location }
  | { kind: 'or'; left: Condition; right: Condition; at: Location }
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

export interface Exception {
  name: string;
  fields: string[];
  comps: ComparisonOperator[];
  /** One tuple per exception case, one literal per field. */
  values: Literal[][];
  at: Location;
}

export interface Correlation {
  kind: 'sequence' | 'threshold';
  /** Fields that make the correlation key (default: domain). */
  by: string[];
  /** Window in ms. */
  within: number;
  /** Sequence: the steps in order. Threshold: one step (the rule's condition). */
  steps: { name: string; condition: Condition; at: Location }[];
  /** Threshold: events needed within the window. */
  count: number;
  /** Most keys held at once; the oldest is evicted beyond it. */
  maxKeys: number;
  at: Location;
}

/** A rule as collected from YAML (conditions parsed, macros not yet expanded). */
export interface RuleDefinition {
  id: string;
  name: string;
  description: string;
  /** Absent for a correlation rule whose steps carry the conditions. */
  condition: Condition | undefined;
  output: string;
  outputAt: Location | undefined;
  severity: Severity;
  mitre: AttackTechnique[];
  tags: string[];
  enabled: boolean;
  exceptions: Exception[];
  /** Fields copied into the finding's evidence. */
  fields: string[];
  correlation: Correlation | undefined;
  source: string | undefined;
  at: Location;
}

export interface MacroDefinition {
  name: string;
  condition: Condition;
  at: Location;
}

export interface ListDefinition {
  name: string;
  items: Literal[];
  at: Location;
}
