// Pass 3 of the loader: checks every field against the event catalogue and every value against its
// field's type, and produces the typed tree the compiler and the reference interpreter both run.
import type { FieldType } from '../introspect/events/fields.js';
import { EVENT_FIELDS } from '../introspect/events/fields.js';
import { indexedFieldDefinition } from './derived.js';
import {
  FALCO_EVENT_TYPES,
  FALCO_FILE_SYSCALLS,
  FALCO_NETWORKS,
  canonicalField,
  isFalcoFileField,
} from './falco-fields.js';
import type { DiagnosticBag } from './diagnostics.js';
import type { Network } from './matchers.js';
import { ipKey, parseCidr, parseIp } from './matchers.js';
import type { TextPattern } from './patterns.js';
import { compileGlob, compileRegex } from './patterns.js';
import type { ComparisonOperator, Condition, Literal, Location, TypedValue } from './types.js';

export type Checked =
  | { kind: 'and' | 'or'; operands: Checked[] }
  | { kind: 'not'; operand: Checked }
  | { kind: 'bool'; value: boolean }
  | { kind: 'exists'; field: string }
  | CheckedCompare;

export interface CheckedCompare {
  kind: 'compare';
  field: string;
  type: FieldType;
  operator: ComparisonOperator;
  /** Typed values: strings, numbers (number fields), bigints (address), booleans, IP keys (ip `=`/`in`). */
  values: TypedValue[];
  /** regex and glob: the compiled patterns, one per value. */
  patterns?: TextPattern[];
  /** cidr: the networks. */
  networks?: Network[];
}

// A list of strings is matched element by element with the same operators as one string.
const TEXT_OPERATORS: ReadonlySet<ComparisonOperator> = new Set([
  '=',
  '!=',
  'in',
  'contains',
  'icontains',
  'startswith',
  'endswith',
  'glob',
  'regex',
  'pmatch',
  'intersects',
  'bcontains',
  'bstartswith',
]);

const OPERATORS_BY_TYPE: Record<FieldType, ReadonlySet<ComparisonOperator>> = {
  string: TEXT_OPERATORS,
  'string[]': TEXT_OPERATORS,
  number: new Set(['=', '!=', '<', '<=', '>', '>=', 'in']),
  address: new Set(['=', '!=', '<', '<=', '>', '>=', 'in']),
  boolean: new Set(['=', '!=']),
  ip: new Set(['=', '!=', 'in', 'cidr']),
};

const HEX = /^0x[0-9a-fA-F]+$/;
const QUOTED_NUMBER = /^(-?[0-9]+(\.[0-9]+)?|0x[0-9a-fA-F]+)$/;

function typeValue(
  literal: Literal,
  type: FieldType,
  operator: ComparisonOperator,
  field: string,
  bag: DiagnosticBag,
): TypedValue | undefined {
  const mismatch = (expected: string): undefined => {
    const shown = literal.kind === 'string' ? `"${literal.text}"` : literal.text;
    bag.error('TYPE_MISMATCH', `${field} is ${type}: ${shown} is not ${expected}`, literal.at);
    return undefined;
  };
  switch (type) {
    case 'string':
    case 'string[]':
      return literal.text;
    case 'number':
      // Falco quotes numbers ("0"): a quoted number is still a number.
      if (literal.kind !== 'number' && !QUOTED_NUMBER.test(literal.text))
        return mismatch('a number');
      return HEX.test(literal.text) ? Number(BigInt(literal.text)) : Number(literal.text);
    case 'address':
      if (literal.kind !== 'number' || !(HEX.test(literal.text) || /^[0-9]+$/.test(literal.text)))
        return mismatch('an address (0x… or a non-negative integer)');
      return BigInt(literal.text);
    case 'boolean':
      if (literal.text !== 'true' && literal.text !== 'false') return mismatch('true or false');
      return literal.text === 'true';
    case 'ip': {
      if (operator === 'cidr') return literal.text;
      const ip = parseIp(literal.text);
      if (ip === undefined) {
        bag.error('BAD_CIDR', `${field}: "${literal.text}" is not an IP address`, literal.at);
        return undefined;
      }
      return ipKey(ip);
    }
  }
}

/** Types one resolved condition; returns undefined (with diagnostics) when any part is wrong. */
export function checkCondition(condition: Condition, bag: DiagnosticBag): Checked | undefined {
  switch (condition.kind) {
    case 'and':
    case 'or': {
      const operands: Checked[] = [];
      let failed = false;
      for (const operand of condition.operands) {
        const checked = checkCondition(operand, bag);
        if (checked === undefined) failed = true;
        else operands.push(checked);
      }
      return failed ? undefined : { kind: condition.kind, operands };
    }
    case 'not': {
      const operand = checkCondition(condition.operand, bag);
      return operand === undefined ? undefined : { kind: 'not', operand };
    }
    case 'bool':
      return { kind: 'bool', value: condition.value };
    case 'macro':
      // resolve has removed every macro; one left here is a bug.
      throw new Error(`unresolved macro ${condition.name}`);
    case 'exists': {
      if (checkField(condition.field, condition.at, bag) === undefined) return undefined;
      return { kind: 'exists', field: condition.field };
    }
    case 'compare':
      return checkCompare(condition, bag);
  }
}

/** Fields already warned about as unfilled, per bag (one warning per field and file). */
const warned = new WeakMap<DiagnosticBag, Set<string>>();

export function checkField(
  field: string,
  at: Location,
  bag: DiagnosticBag,
  severity: 'error' | 'warning' = 'error',
): FieldType | undefined {
  const definition = EVENT_FIELDS[field] ?? indexedFieldDefinition(field);
  if (definition === undefined) {
    if (isFalcoFileField(field)) {
      const message = `'${field}' (Falco) needs file events (opens, renames, deletions and their descriptors), which Ringside does not observe`;
      if (severity === 'error') bag.error('NEEDS_FILE_EVENTS', message, at);
      else bag.warning('NEEDS_FILE_EVENTS', message, at);
      return undefined;
    }
    const message =
      canonicalField(field) !== field
        ? `'${field}' is Falco's name: write '${canonicalField(field)}'`
        : /^(proc|fd|evt|container|k8s|thread|user|group|fs|spl)\./.test(field)
          ? `'${field}' (Falco) has no Ringside equivalent`
          : `unknown field '${field}'${suggest(field)}`;
    if (severity === 'error') bag.error('UNKNOWN_FIELD', message, at);
    else bag.warning('UNKNOWN_FIELD', message, at);
    return undefined;
  }
  if (definition.unfilled === true) {
    const seen = warned.get(bag) ?? new Set<string>();
    warned.set(bag, seen);
    const key = `${at.file}\u0000${field}`;
    if (!seen.has(key)) {
      seen.add(key);
      bag.warning(
        'UNFILLED_FIELD',
        `no detector fills '${field}' yet: a condition on it cannot hold`,
        at,
      );
    }
  }
  return definition.type;
}

function suggest(field: string): string {
  const last = field.split('.').pop() ?? field;
  const close = Object.keys(EVENT_FIELDS).filter(
    (known) => known.endsWith(`.${last}`) || known === last,
  );
  return close.length > 0 ? ` (did you mean ${close.slice(0, 3).join(', ')}?)` : '';
}

/**
 * Falco's event selectors on Ringside's events: `evt.type` names system calls, each mapped to the
 * Ringside event type that reports the same (FALCO_EVENT_TYPES); a set of which none is observed is
 * an error (the rule could never fire). `evt.dir` is the syscall's direction: Ringside reports each
 * call once, complete, so `evt.dir = <` always holds and `evt.dir = >` never does.
 */
function checkFalcoEvent(
  condition: Extract<Condition, { kind: 'compare' }>,
  bag: DiagnosticBag,
): Checked | undefined {
  const { operator, values } = condition;
  const equal = operator === '=' || operator === 'in';
  if (condition.field !== 'evt.type') return falcoConstant(condition, bag);
  if (!equal && operator !== '!=') {
    bag.error('BAD_OPERATOR', `'${operator}' does not apply to ${condition.field}`, condition.at);
    return undefined;
  }
  const types = [
    ...new Set(values.flatMap((value) => FALCO_EVENT_TYPES[value.text] ?? [])),
  ] as string[];
  if (types.length === 0) {
    if (!equal) return { kind: 'bool', value: true };
    if (values.every((value) => FALCO_FILE_SYSCALLS.has(value.text))) {
      bag.error(
        'NEEDS_FILE_EVENTS',
        `evt.type ${values.map((value) => value.text).join(', ')}: file events, which Ringside does not observe (no hook on open and its kin)`,
        condition.at,
      );
      return undefined;
    }
    bag.error(
      'UNOBSERVED_EVENT',
      `evt.type ${values.map((value) => value.text).join(', ')}: Ringside observes none of these (it maps ${Object.keys(FALCO_EVENT_TYPES).join(', ')})`,
      condition.at,
    );
    return undefined;
  }
  return {
    kind: 'compare',
    field: 'type',
    type: 'string',
    operator: equal ? 'in' : '!=',
    values: types,
  };
}

/**
 * Falco fields that are constant for every event Ringside reports: each is one complete, successful
 * call (`evt.dir` is `<`, `evt.res` SUCCESS, `evt.rawres` 0), and events are numbered from 1, so
 * the packs' `evt.num = 0` (never true) and `evt.num >= 0` (always true) keep their meaning; other
 * evt.num comparisons have none here.
 */
const FALCO_CONSTANTS: Readonly<Record<string, string | number>> = {
  'evt.dir': '<',
  'evt.res': 'SUCCESS',
  'evt.rawres': 0,
  'evt.num': 1,
};

function falcoConstant(
  condition: Extract<Condition, { kind: 'compare' }>,
  bag: DiagnosticBag,
): Checked | undefined {
  const constant = FALCO_CONSTANTS[condition.field]!;
  const { operator, values } = condition;
  const numeric = typeof constant === 'number';
  const operands = values.map((value) => (numeric ? Number(value.text) : value.text));
  if (
    (numeric && operands.some((value) => Number.isNaN(value))) ||
    (condition.field === 'evt.num' && operands.some((value) => value !== 0))
  ) {
    bag.error(
      'TYPE_MISMATCH',
      `${condition.field} ${operator} ${values.map((value) => value.text).join(', ')}: Ringside events carry no such value (${condition.field} is compared with ${condition.field === 'evt.num' ? '0' : String(constant)} only)`,
      condition.at,
    );
    return undefined;
  }
  const first = operands[0] as number;
  const value = constant as number;
  let holds: boolean;
  switch (operator) {
    case '=':
    case 'in':
      holds = operands.includes(constant);
      break;
    case '!=':
      holds = !operands.includes(constant);
      break;
    case '<':
      holds = value < first;
      break;
    case '<=':
      holds = value <= first;
      break;
    case '>':
      holds = value > first;
      break;
    case '>=':
      holds = value >= first;
      break;
    default:
      bag.error('BAD_OPERATOR', `'${operator}' does not apply to ${condition.field}`, condition.at);
      return undefined;
  }
  return { kind: 'bool', value: holds };
}

function checkCompare(
  condition: Extract<Condition, { kind: 'compare' }>,
  bag: DiagnosticBag,
): Checked | undefined {
  const network = FALCO_NETWORKS[condition.field];
  if (network !== undefined) {
    // `fd.snet = N` / `in (N, M)`: the address is in one of the networks; `!=`: in none of them.
    const negated = condition.operator === '!=';
    if (!negated && condition.operator !== '=' && condition.operator !== 'in') {
      bag.error(
        'BAD_OPERATOR',
        `'${condition.operator}' does not apply to ${condition.field}`,
        condition.at,
      );
      return undefined;
    }
    const inside = checkCompare({ ...condition, field: network, operator: 'cidr' }, bag);
    return inside === undefined || !negated ? inside : { kind: 'not', operand: inside };
  }
  if (condition.field === 'evt.type' || Object.hasOwn(FALCO_CONSTANTS, condition.field))
    return checkFalcoEvent(condition, bag);
  const type = checkField(condition.field, condition.at, bag);
  if (type === undefined) return undefined;
  const { field } = condition;
  let operator = condition.operator;
  let literals = condition.values;
  // Falco's spellings of operators Ringside has: set overlap is `in` (a list field matches when
  // any element does), byte matches are text matches on the bytes written in hex.
  if (operator === 'intersects') operator = 'in';
  if (operator === 'bcontains' || operator === 'bstartswith') {
    const decoded: Literal[] = [];
    for (const literal of literals) {
      const text = literal.text.replace(/\s+/g, '');
      if (!/^([0-9a-fA-F]{2})+$/.test(text)) {
        bag.error(
          'TYPE_MISMATCH',
          `${operator} takes bytes in hex, not "${literal.text}"`,
          literal.at,
        );
        return undefined;
      }
      decoded.push({
        ...literal,
        kind: 'string',
        text: Buffer.from(text, 'hex').toString('latin1'),
      });
    }
    literals = decoded;
    operator = operator === 'bcontains' ? 'contains' : 'startswith';
  }
  if (!OPERATORS_BY_TYPE[type].has(operator)) {
    bag.error(
      'BAD_OPERATOR',
      `'${operator}' does not apply to ${field} (${type}); use one of ${[...OPERATORS_BY_TYPE[type]].join(' ')}`,
      condition.at,
    );
    return undefined;
  }
  const values: TypedValue[] = [];
  let failed = false;
  for (const literal of literals) {
    const value = typeValue(literal, type, operator, field, bag);
    if (value === undefined) failed = true;
    else values.push(value);
  }
  if (failed) return undefined;
  const checked: CheckedCompare = { kind: 'compare', field, type, operator, values };
  if (operator === 'regex' || operator === 'glob') {
    const patterns: TextPattern[] = [];
    for (const literal of condition.values) {
      if (operator === 'glob') patterns.push(compileGlob(literal.text));
      else
        try {
          patterns.push(compileRegex(literal.text));
        } catch (error) {
          bag.error(
            'BAD_REGEX',
            `invalid regex "${literal.text}": ${(error as Error).message}`,
            literal.at,
          );
          return undefined;
        }
    }
    checked.patterns = patterns;
  }
  if (operator === 'cidr') {
    const networks: Network[] = [];
    for (const literal of condition.values) {
      const network = parseCidr(literal.text);
      if (network === undefined) {
        bag.error(
          'BAD_CIDR',
          `"${literal.text}" is not a CIDR block (a.b.c.d/n or x:y::/n)`,
          literal.at,
        );
        return undefined;
      }
      networks.push(network);
    }
    checked.networks = networks;
  }
  return checked;
}
