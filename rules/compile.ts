// Pass 4: typed conditions to closures. Each distinct leaf (field, operator, values) is compiled once
// and shared by every rule that uses it; costly leaves remember their answer for the current event.
import type { VmiEvent } from '../introspect/events/event.js';
import { fieldGetter } from './access.js';
import type { Checked, CheckedCompare } from './check.js';
import { inNetwork, ipKey, parseIp, underPath } from './matchers.js';

export type Predicate = (event: VmiEvent) => boolean;

/** Shared across all the predicates of one engine: the cache of distinct leaves. */
export class CompileContext {
  readonly leaves = new Map<string, Predicate>();
  /** How many leaves were asked for, and how many distinct ones were built (for reports). */
  requested = 0;

  leafKey(compare: CheckedCompare): string {
    const values = compare.values.map((value) => `${typeof value}:${String(value)}`).join('\u0000');
    return `${compare.field}\u0001${compare.operator}\u0001${values}`;
  }
}

/**
 * The lower-case form of the last string asked for: every case-insensitive test of one event's
 * field sees the same string object, so the field is lowered once per event, not once per rule.
 */
let lastText: string | undefined;
let lastLower = '';
export function lowerCase(text: string): string {
  if (text !== lastText) {
    lastText = text;
    lastLower = text.toLowerCase();
  }
  return lastLower;
}

const EXPENSIVE = new Set(['contains', 'icontains', 'glob', 'regex', 'cidr', 'pmatch']);

function anyOf(tests: ((text: string) => boolean)[]): (text: string) => boolean {
  if (tests.length === 1) return tests[0]!;
  return (text) => {
    for (const test of tests) if (test(text)) return true;
    return false;
  };
}

function stringTest(compare: CheckedCompare): (text: string) => boolean {
  const values = compare.values as string[];
  switch (compare.operator) {
    case '=':
    case 'in': {
      if (values.length === 1) {
        const only = values[0]!;
        return (text) => text === only;
      }
      const set = new Set(values);
      return (text) => set.has(text);
    }
    case '!=': {
      const set = new Set(values);
      return (text) => !set.has(text);
    }
    case 'contains':
      return anyOf(values.map((value) => (text: string) => text.includes(value)));
    case 'icontains': {
      const lowers = values.map((value) => value.toLowerCase());
      return (text) => {
        const lower = lowerCase(text);
        for (const value of lowers) if (lower.includes(value)) return true;
        return false;
      };
    }
    case 'startswith':
      return anyOf(values.map((value) => (text: string) => text.startsWith(value)));
    case 'endswith':
      return anyOf(values.map((value) => (text: string) => text.endsWith(value)));
    case 'glob':
    case 'regex':
      return anyOf(compare.patterns!.map((pattern) => (text: string) => pattern.test(text)));
    case 'pmatch':
      return anyOf(values.map((prefix) => (text: string) => underPath(text, prefix)));
    default:
      throw new Error(`operator ${compare.operator} on a string`);
  }
}

function compileCompare(compare: CheckedCompare): Predicate {
  const get = fieldGetter(compare.field);
  const { operator, values } = compare;
  switch (compare.type) {
    case 'string': {
      const test = stringTest(compare);
      return (event) => {
        const value = get(event);
        return typeof value === 'string' && test(value);
      };
    }
    case 'string[]': {
      if (operator === '!=') {
        const set = new Set(values as string[]);
        return (event) => {
          const value = get(event);
          if (!Array.isArray(value)) return false;
          for (const item of value) if (set.has(item as string)) return false;
          return true;
        };
      }
      const test = stringTest(compare);
      return (event) => {
        const value = get(event);
        if (!Array.isArray(value)) return false;
        for (const item of value) if (typeof item === 'string' && test(item)) return true;
        return false;
      };
    }
    case 'number':
    case 'address': {
      const kind = compare.type === 'number' ? 'number' : 'bigint';
      const first = values[0] as number | bigint;
      const set = new Set(values);
      switch (operator) {
        case '=':
        case 'in':
          return (event) => {
            const value = get(event);
            return typeof value === kind && set.has(value as number);
          };
        case '!=':
          return (event) => {
            const value = get(event);
            return typeof value === kind && !set.has(value as number);
          };
        case '<':
          return (event) => {
            const value = get(event);
            return typeof value === kind && (value as number) < (first as number);
          };
        case '<=':
          return (event) => {
            const value = get(event);
            return typeof value === kind && (value as number) <= (first as number);
          };
        case '>':
          return (event) => {
            const value = get(event);
            return typeof value === kind && (value as number) > (first as number);
          };
        case '>=':
          return (event) => {
            const value = get(event);
            return typeof value === kind && (value as number) >= (first as number);
          };
        default:
          throw new Error(`operator ${operator} on a ${compare.type}`);
      }
    }
    case 'boolean': {
      const expected = values[0] as boolean;
      const equal = operator === '=';
      return (event) => {
        const value = get(event);
        return typeof value === 'boolean' && (value === expected) === equal;
      };
    }
    case 'ip': {
      const networks = compare.networks ?? [];
      const keys = new Set(values as string[]);
      return (event) => {
        const value = get(event);
        if (typeof value !== 'string') return false;
        const ip = parseIp(value);
        if (ip === undefined) return false;
        if (operator === 'cidr') {
          for (const network of networks) if (inNetwork(ip, network)) return true;
          return false;
        }
        return keys.has(ipKey(ip)) === (operator !== '!=');
      };
    }
  }
}

function shareLeaf(compare: CheckedCompare, context: CompileContext): Predicate {
  context.requested += 1;
  const key = context.leafKey(compare);
  const known = context.leaves.get(key);
  if (known !== undefined) return known;
  const plain = compileCompare(compare);
  let predicate = plain;
  if (EXPENSIVE.has(compare.operator)) {
    // Many rules repeat the same costly test (a regex on the command line): compute it once per
    // event. Events are never mutated once emitted, so the event object identifies the answer.
    let last: VmiEvent | undefined;
    let answer = false;
    predicate = (event) => {
      if (event !== last) {
        answer = plain(event);
        last = event;
      }
      return answer;
    };
  }
  context.leaves.set(key, predicate);
  return predicate;
}

export function compileCondition(condition: Checked, context: CompileContext): Predicate {
  switch (condition.kind) {
    case 'and': {
      const parts = condition.operands.map((operand) => compileCondition(operand, context));
      if (parts.length === 2) {
        const [left, right] = parts as [Predicate, Predicate];
        return (event) => left(event) && right(event);
      }
      return (event) => {
        for (const part of parts) if (!part(event)) return false;
        return true;
      };
    }
    case 'or': {
      const parts = condition.operands.map((operand) => compileCondition(operand, context));
      if (parts.length === 2) {
        const [left, right] = parts as [Predicate, Predicate];
        return (event) => left(event) || right(event);
      }
      return (event) => {
        for (const part of parts) if (part(event)) return true;
        return false;
      };
    }
    case 'not': {
      const operand = compileCondition(condition.operand, context);
      return (event) => !operand(event);
    }
    case 'bool': {
      const value = condition.value;
      return () => value;
    }
    case 'exists': {
      const get = fieldGetter(condition.field);
      return (event) => get(event) !== undefined && get(event) !== null;
    }
    case 'compare':
      return shareLeaf(condition, context);
  }
}
