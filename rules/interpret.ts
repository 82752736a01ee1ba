// The reference interpreter: evaluates a typed condition on an event in the plainest way, with no
// indexing, sharing or specialisation. Differential tests hold the compiled engine to its answers.
import type { VmiEvent } from '../introspect/events/event.js';
import type { Checked, CheckedCompare } from './check.js';
import { DERIVED_FIELDS } from './derived.js';
import { inNetwork, ipKey, parseIp, underPath } from './matchers.js';

function read(event: VmiEvent, path: string): unknown {
  const derived = DERIVED_FIELDS[path];
  if (derived !== undefined) return derived(event) ?? undefined;
  let value: unknown = event;
  for (const part of path.split('.')) {
    if (value === null || value === undefined || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value ?? undefined;
}

function matchString(compare: CheckedCompare, text: string): boolean {
  const values = compare.values as string[];
  switch (compare.operator) {
    case '=':
    case 'in':
      return values.includes(text);
    case 'contains':
      return values.some((value) => text.indexOf(value) !== -1);
    case 'icontains':
      return values.some((value) => text.toLowerCase().indexOf(value.toLowerCase()) !== -1);
    case 'startswith':
      return values.some((value) => text.slice(0, value.length) === value);
    case 'endswith':
      return values.some(
        (value) => value.length <= text.length && text.slice(text.length - value.length) === value,
      );
    case 'glob':
    case 'regex':
      return compare.patterns!.some((pattern) => pattern.test(text));
    case 'pmatch':
      return values.some((prefix) => underPath(text, prefix));
    default:
      return false;
  }
}

function evaluateCompare(compare: CheckedCompare, value: unknown): boolean {
  if (value === undefined) return false;
  const { operator, values } = compare;
  switch (compare.type) {
    case 'string':
      if (typeof value !== 'string') return false;
      if (operator === '!=') return !values.includes(value);
      return matchString(compare, value);
    case 'string[]':
      if (!Array.isArray(value)) return false;
      if (operator === '!=') return !value.some((item) => values.includes(item as string));
      return value.some((item) => typeof item === 'string' && matchString(compare, item));
    case 'number':
    case 'address': {
      if (typeof value !== (compare.type === 'number' ? 'number' : 'bigint')) return false;
      const scalar = value as number | bigint;
      const first = values[0] as number | bigint;
      if (operator === '=' || operator === 'in') return values.some((v) => v === scalar);
      if (operator === '!=') return !values.some((v) => v === scalar);
      if (operator === '<') return scalar < first;
      if (operator === '<=') return scalar <= first;
      if (operator === '>') return scalar > first;
      if (operator === '>=') return scalar >= first;
      return false;
    }
    case 'boolean':
      if (typeof value !== 'boolean') return false;
      return operator === '=' ? value === values[0] : value !== values[0];
    case 'ip': {
      if (typeof value !== 'string') return false;
      const ip = parseIp(value);
      if (ip === undefined) return false;
      if (operator === 'cidr') return compare.networks!.some((network) => inNetwork(ip, network));
      const key = ipKey(ip);
      return operator === '!=' ? !values.includes(key) : values.includes(key);
    }
  }
}

export function interpret(condition: Checked, event: VmiEvent): boolean {
  switch (condition.kind) {
    case 'and':
      return condition.operands.every((operand) => interpret(operand, event));
    case 'or':
      return condition.operands.some((operand) => interpret(operand, event));
    case 'not':
      return !interpret(condition.operand, event);
    case 'bool':
      return condition.value;
    case 'exists':
      return read(event, condition.field) !== undefined;
    case 'compare':
      return evaluateCompare(condition, read(event, condition.field));
  }
}
