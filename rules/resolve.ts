// Pass 2 of the loader: expands macro references and list names inside conditions, so that later
// passes see one self-contained tree per rule. Cycles and unknown names become diagnostics.
import type { DiagnosticBag } from './diagnostics.js';
import { EVENT_FIELDS } from '../introspect/events/fields.js';
import type { Condition, Literal, Location } from './types.js';
import { MAX_CONDITION_DEPTH } from './types.js';

/** How list names are written: lower-case words joined by `_` (`shell_binaries`). */
const LIST_NAME = /^[a-z][a-z0-9]*(_[a-z0-9]+)+$/;

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
  depth = 0,
): Condition | undefined {
  if (depth > MAX_CONDITION_DEPTH) {
    bag.error(
      'TOO_DEEP',
      `the condition nests deeper than ${MAX_CONDITION_DEPTH} levels once macros are expanded${stack.length > 0 ? ` (through ${stack.slice(0, 3).join(' -> ')} …)` : ''}`,
      condition.at,
    );
    return undefined;
  }
  switch (condition.kind) {
    case 'and':
    case 'or': {
      // Every operand is resolved, so that all their problems are reported in one run.
      const operands: Condition[] = [];
      let failed = false;
      for (const operand of condition.operands) {
        const resolved = resolveCondition(operand, definitions, bag, usage, stack, depth + 1);
        if (resolved === undefined) failed = true;
        else operands.push(resolved);
      }
      return failed ? undefined : { ...condition, operands };
    }
    case 'not': {
      const operand = resolveCondition(
        condition.operand,
        definitions,
        bag,
        usage,
        stack,
        depth + 1,
      );
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
      return resolveCondition(body, definitions, bag, usage, [...stack, condition.name], depth + 1);
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
        } else if (
          value.kind === 'word' &&
          condition.values.length === 1 &&
          LIST_NAME.test(value.text)
        ) {
          // `in (name)` with one bare snake_case name reads as a list; a missing one must not
          // silently become text (in a longer set such words are values: init_module, finit_module).
          bag.error(
            'UNKNOWN_LIST',
            `list '${value.text}' is not defined (quote it, "${value.text}", to compare with the text)`,
            value.at,
          );
          return undefined;
        } else values.push(value);
      }
      return { ...condition, values };
    }
  }
}
