// Pass 2 of the loader: expands macro references and list names inside conditions, so that later
// passes see one self-contained tree per rule. Cycles and unknown names become diagnostics.
import type { DiagnosticBag } from './diagnostics.js';
import { EVENT_FIELDS } from '../introspect/events/fields.js';
import type { Condition, Literal, Location } from './types.js';

export interface Definitions {
  /** Parsed macro conditions; undefined when the macro's own condition failed to parse. */
  macros: Map<string, Condition | undefined>;
  lists: Map<string, Literal[]>;
}

export interface ResolveUsage {
  macros: Set<string>;
  lists: Set<string>;
}

function expandList(
  name: string,
  at: Location,
  definitions: Definitions,
  bag: DiagnosticBag,
  usage: ResolveUsage,
  stack: string[],
): Literal[] | undefined {
  const items = definitions.lists.get(name);
  if (items === undefined) return undefined;
  usage.lists.add(name);
  if (stack.includes(name)) {
    bag.error(
      'MACRO_CYCLE',
      `list '${name}' includes itself (${[...stack, name].join(' -> ')})`,
      at,
    );
    return [];
  }
  const out: Literal[] = [];
  for (const item of items) {
    // A list may name other lists, as in Falco; the nested list's items take the outer position.
    const nested =
      item.kind === 'word' || item.kind === 'string'
        ? expandList(item.text, at, definitions, bag, usage, [...stack, name])
        : undefined;
    if (nested !== undefined) out.push(...nested);
    else out.push({ ...item, at });
  }
  return out;
}

/** Returns the condition with macros and lists expanded; undefined if something could not be. */
export function resolveCondition(
  condition: Condition,
  definitions: Definitions,
  bag: DiagnosticBag,
  usage: ResolveUsage,
  stack: string[] = [],
): Condition | undefined {
  switch (condition.kind) {
    case 'and':
    case 'or': {
      const left = resolveCondition(condition.left, definitions, bag, usage, stack);
      const right = resolveCondition(condition.right, definitions, bag, usage, stack);
      return left === undefined || right === undefined ? undefined : { ...condition, left, right };
    }
    case 'not': {
      const operand = resolveCondition(condition.operand, definitions, bag, usage, stack);
      return operand === undefined ? undefined : { ...condition, operand };
    }
    case 'bool':
    case 'exists':
      return condition;
    case 'macro': {
      if (!definitions.macros.has(condition.name)) {
        const hint =
          EVENT_FIELDS[condition.name] !== undefined
            ? ` ('${condition.name}' is a field: compare it, e.g. '${condition.name} = true')`
            : '';
        bag.error('UNKNOWN_MACRO', `'${condition.name}' is not a macro${hint}`, condition.at);
        return undefined;
      }
      usage.macros.add(condition.name);
      if (stack.includes(condition.name)) {
        bag.error(
          'MACRO_CYCLE',
          `macro '${condition.name}' includes itself (${[...stack, condition.name].join(' -> ')})`,
          condition.at,
        );
        return undefined;
      }
      const body = definitions.macros.get(condition.name);
      if (body === undefined) return undefined;
      return resolveCondition(body, definitions, bag, usage, [...stack, condition.name]);
    }
    case 'compare': {
      if (condition.operator !== 'in' && condition.grouped !== true) return condition;
      const values: Literal[] = [];
      for (const value of condition.values) {
        if (value.kind === 'list') {
          const items = expandList(value.text, value.at, definitions, bag, usage, []);
          if (items === undefined) {
            bag.error('UNKNOWN_LIST', `list '${value.text}' is not defined`, value.at);
            return undefined;
          }
          values.push(...items);
        } else if (value.kind === 'word' && definitions.lists.has(value.text)) {
          values.push(...(expandList(value.text, value.at, definitions, bag, usage, []) ?? []));
        } else values.push(value);
      }
      return { ...condition, values };
    }
  }
}
