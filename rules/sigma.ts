// Sigma import: turns Sigma rules whose log source maps to a Ringside event into Ringside rules (as
// YAML text, so they can be reviewed and kept), and reports with a diagnostic whatever does not map.
import { isMap, stringify } from 'yaml';
import type { EventType } from '../introspect/events/event.js';
import { DiagnosticBag } from './diagnostics.js';
import type { Diagnostic } from './diagnostics.js';
import { slugify } from './load.js';
import { formatCondition } from './parser.js';
import type { ComparisonOperator, Condition, Literal, Location } from './types.js';
import { junction, MAX_CONDITION_DEPTH } from './types.js';
import { YamlReader } from './yaml-reader.js';

interface LogSourceMapping {
  type: EventType;
  fields: Record<string, string>;
}

const PROCESS_FIELDS: Record<string, string> = {
  Image: 'process.executable',
  CommandLine: 'process.command_line',
  ParentImage: 'process.parent.executable',
  // Fields in the catalogue that no detector fills yet: the rule imports, and lint warns
  // (UNFILLED_FIELD) that a condition on them cannot hold.
  ParentCommandLine: 'process.parent.command_line',
  User: 'user.name',
  CurrentDirectory: 'process.working_directory',
  ProcessId: 'process.pid',
  ParentProcessId: 'process.ppid',
};

/** Log sources Ringside has events for, keyed `product/category`. */
const LOG_SOURCES: Record<string, LogSourceMapping> = {
  'linux/process_creation': { type: 'process.exec', fields: PROCESS_FIELDS },
  'linux/network_connection': {
    type: 'network.connect',
    fields: {
      ...PROCESS_FIELDS,
      DestinationIp: 'network.destination_ip',
      DestinationPort: 'network.destination_port',
      SourceIp: 'network.source_ip',
      SourcePort: 'network.source_port',
      Protocol: 'network.transport',
    },
  },
};

const SEVERITIES = new Set(['informational', 'low', 'medium', 'high', 'critical']);
const SUPPORTED_MODIFIERS = new Set([
  'contains',
  'startswith',
  'endswith',
  'all',
  're',
  'cidr',
  'gt',
  'gte',
  'lt',
  'lte',
]);

class Unmapped extends Error {}

export interface SigmaImportResult {
  /** Ringside rule YAML for every Sigma rule that mapped (empty when none did). */
  yaml: string;
  imported: { title: string; id: string }[];
  diagnostics: Diagnostic[];
}

interface Context {
  mapping: LogSourceMapping;
  at: Location;
  /** Named detection items (selections) as conditions. */
  selections: Map<string, Condition>;
}

const literal = (value: unknown, at: Location): Literal => {
  if (typeof value === 'number' || typeof value === 'bigint')
    return { kind: 'number', text: String(value), at };
  if (typeof value === 'boolean') return { kind: 'word', text: String(value), at };
  return { kind: 'string', text: String(value), at };
};

const and = (left: Condition, right: Condition, at: Location): Condition =>
  junction('and', [left, right], at);
const or = (left: Condition, right: Condition, at: Location): Condition =>
  junction('or', [left, right], at);
/** All (and) or any (or) of the parts, as one flat node; none is false. */
const fold = (parts: Condition[], join: typeof and, at: Location): Condition =>
  parts.length === 0
    ? { kind: 'bool', value: false, at }
    : junction(join === and ? 'and' : 'or', parts, at);

/** Sigma wildcards (`*`, `?`, not escaped) in a plain string value. */
function hasWildcard(text: string): boolean {
  return /(^|[^\\])[*?]/.test(text);
}

/** A Sigma value with wildcards as a Ringside glob (Sigma escapes \* \? \\ kept literal via [*] [?]). */
function sigmaToGlob(text: string): string {
  let glob = '';
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index]!;
    if (char === '\\' && index + 1 < text.length && '*?\\'.includes(text[index + 1]!)) {
      const next = text[index + 1]!;
      glob += next === '\\' ? '\\' : `[${next}]`;
      index += 1;
    } else if (char === '[') glob += '[[]';
    else glob += char;
  }
  return glob;
}

function fieldCondition(key: string, value: unknown, context: Context): Condition {
  const [name, ...modifiers] = key.split('|');
  const at = context.at;
  const field = context.mapping.fields[name!];
  if (field === undefined)
    throw new Unmapped(`field '${name}' has no Ringside equivalent for ${context.mapping.type}`);
  for (const modifier of modifiers)
    if (!SUPPORTED_MODIFIERS.has(modifier))
      throw new Unmapped(`modifier '${modifier}' (on ${name}) is not supported`);
  const all = modifiers.includes('all');
  const values = Array.isArray(value) ? value : [value];
  const grouped = groupedValues(field, modifiers, values, at);
  if (!all && grouped !== undefined) return grouped;
  const parts = values.map((item): Condition => {
    if (item === null) return { kind: 'not', operand: { kind: 'exists', field, at }, at };
    if (typeof item === 'object')
      throw new Unmapped(`a nested value under ${name} is not supported`);
    const text = String(item);
    if (modifiers.includes('re'))
      return { kind: 'compare', field, operator: 'regex', values: [literal(text, at)], at };
    if (modifiers.includes('cidr'))
      return { kind: 'compare', field, operator: 'cidr', values: [literal(text, at)], at };
    const comparison = modifiers.find((modifier) => ['gt', 'gte', 'lt', 'lte'].includes(modifier));
    if (comparison !== undefined) {
      const operator = ({ gt: '>', gte: '>=', lt: '<', lte: '<=' } as const)[comparison as 'gt'];
      return { kind: 'compare', field, operator, values: [literal(item, at)], at };
    }
    const kind = modifiers.find((modifier) =>
      ['contains', 'startswith', 'endswith'].includes(modifier),
    );
    if (typeof item === 'string' && hasWildcard(item)) {
      const body = sigmaToGlob(item);
      const glob =
        kind === 'contains'
          ? `*${body}*`
          : kind === 'startswith'
            ? `${body}*`
            : kind === 'endswith'
              ? `*${body}`
              : body;
      return { kind: 'compare', field, operator: 'glob', values: [literal(glob, at)], at };
    }
    const plainText = typeof item === 'string' ? item.replace(/\\([*?\\])/g, '$1') : item;
    const operator = modifierOperator(kind, '=');
    return { kind: 'compare', field, operator, values: [literal(plainText, at)], at };
  });
  return fold(parts, all ? and : or, at);
}

/** The engine's operator for Sigma's string modifier (case-insensitive `contains`), else `otherwise`. */
function modifierOperator(
  kind: string | undefined,
  otherwise: ComparisonOperator,
): ComparisonOperator {
  return kind === 'contains'
    ? 'icontains'
    : kind === 'startswith' || kind === 'endswith'
      ? kind
      : otherwise;
}

/**
 * "Any of these" plain strings as one comparison with a set (`in (…)`, `icontains (…)` …), which the
 * engine indexes, instead of an `or` of one comparison per value, which it cannot.
 */
function groupedValues(
  field: string,
  modifiers: string[],
  values: unknown[],
  at: Location,
): Condition | undefined {
  if (values.length < 2) return undefined;
  if (!values.every((item) => typeof item === 'string' && !hasWildcard(item))) return undefined;
  if (modifiers.some((modifier) => !['contains', 'startswith', 'endswith'].includes(modifier)))
    return undefined;
  const kind = modifiers[0];
  const operator = modifierOperator(kind, 'in');
  return {
    kind: 'compare',
    field,
    operator,
    values: (values as string[]).map((item) => literal(item.replace(/\\([*?\\])/g, '$1'), at)),
    ...(operator === 'in' ? {} : { grouped: true }),
    at,
  };
}

function selectionCondition(value: unknown, name: string, context: Context): Condition {
  if (Array.isArray(value)) {
    if (value.every((item) => typeof item === 'string' || typeof item === 'number'))
      throw new Unmapped(
        `'${name}' is a keyword list (full-text search), which Ringside events do not have`,
      );
    return fold(
      value.map((item) => selectionCondition(item, name, context)),
      or,
      context.at,
    );
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) throw new Unmapped(`'${name}' is empty`);
    return fold(
      entries.map(([key, inner]) => fieldCondition(key, inner, context)),
      and,
      context.at,
    );
  }
  throw new Unmapped(`'${name}' is not a selection (a map or a list of maps)`);
}

/** Sigma condition expressions: and, or, not, parentheses, `1 of x*`, `all of x*`, `… of them`. */
function parseSigmaCondition(text: string, context: Context): Condition {
  if (text.includes('|'))
    throw new Unmapped(
      `aggregations ('|' in the condition) are not supported; use a Ringside threshold`,
    );
  const tokens = text.match(/\(|\)|[^\s()]+/g) ?? [];
  let position = 0;
  const at = context.at;
  const peek = (): string | undefined => tokens[position];
  const next = (): string => {
    const token = tokens[position];
    if (token === undefined) throw new Unmapped(`condition '${text}' ends too early`);
    position += 1;
    return token;
  };
  const named = (pattern: string): Condition[] => {
    const names = [...context.selections.keys()].filter((name) =>
      pattern === 'them'
        ? !name.startsWith('_')
        : pattern.endsWith('*')
          ? name.startsWith(pattern.slice(0, -1))
          : name === pattern,
    );
    if (names.length === 0) throw new Unmapped(`'${pattern}' names no selection`);
    return names.map((name) => context.selections.get(name)!);
  };
  let depth = 0;
  const enter = (): void => {
    depth += 1;
    if (depth > MAX_CONDITION_DEPTH)
      throw new Unmapped(
        `the condition nests parentheses and 'not' deeper than ${MAX_CONDITION_DEPTH} levels`,
      );
  };
  const primary = (): Condition => {
    const token = next();
    if (token === '(') {
      enter();
      const inner = orExpression();
      if (next() !== ')') throw new Unmapped(`condition '${text}': expected ')'`);
      depth -= 1;
      return inner;
    }
    if (token === 'not') {
      enter();
      const operand = primary();
      depth -= 1;
      return { kind: 'not', operand, at };
    }
    if ((token === '1' || token === 'any' || token === 'all') && peek() === 'of') {
      next();
      const parts = named(next());
      return fold(parts, token === 'all' ? and : or, at);
    }
    const selection = context.selections.get(token);
    if (selection === undefined)
      throw new Unmapped(`condition names '${token}', which is not a selection`);
    return selection;
  };
  const andExpression = (): Condition => {
    let left = primary();
    while (peek() === 'and') {
      next();
      left = and(left, primary(), at);
    }
    return left;
  };
  const orExpression = (): Condition => {
    let left = andExpression();
    while (peek() === 'or') {
      next();
      left = or(left, andExpression(), at);
    }
    return left;
  };
  const condition = orExpression();
  if (position !== tokens.length)
    throw new Unmapped(`condition '${text}': unexpected '${tokens[position]}'`);
  return condition;
}

function importOne(
  sigma: Record<string, unknown>,
  at: Location,
  bag: DiagnosticBag,
): Record<string, unknown> | undefined {
  const title = typeof sigma.title === 'string' ? sigma.title : 'untitled Sigma rule';
  const fail = (message: string): undefined => {
    bag.error('SIGMA_UNMAPPED', `${title}: ${message}`, at);
    return undefined;
  };
  const logsource = (sigma.logsource ?? {}) as Record<string, unknown>;
  const key = `${String(logsource.product ?? '')}/${String(logsource.category ?? logsource.service ?? '')}`;
  const mapping = LOG_SOURCES[key];
  if (mapping === undefined)
    return fail(
      `log source ${JSON.stringify(logsource)} has no Ringside event (mapped: ${Object.keys(LOG_SOURCES).join(', ')})`,
    );
  const detection = sigma.detection as Record<string, unknown> | undefined;
  if (detection === undefined || typeof detection !== 'object') return fail('no detection');
  const context: Context = { mapping, at, selections: new Map() };
  try {
    for (const [name, value] of Object.entries(detection)) {
      if (name === 'condition' || name === 'timeframe') continue;
      context.selections.set(name, selectionCondition(value, name, context));
    }
    if (detection.timeframe !== undefined)
      throw new Unmapped(
        `'timeframe' (correlation) is not supported; use a Ringside threshold or sequence`,
      );
    const conditions = Array.isArray(detection.condition)
      ? detection.condition
      : [detection.condition];
    if (conditions.some((item) => typeof item !== 'string'))
      throw new Unmapped('the detection has no condition');
    const body = fold(
      conditions.map((text) => parseSigmaCondition(text as string, context)),
      or,
      at,
    );
    const type: Condition = {
      kind: 'compare',
      field: 'type',
      operator: '=',
      values: [{ kind: 'word', text: mapping.type, at }],
      at,
    };
    const condition = formatCondition(and(type, body, at));
    const level =
      typeof sigma.level === 'string' && SEVERITIES.has(sigma.level) ? sigma.level : 'medium';
    const tags = Array.isArray(sigma.tags) ? sigma.tags.map(String) : [];
    const id = typeof sigma.id === 'string' ? `sigma-${sigma.id}` : `sigma-${slugify(title)}`;
    const falsePositives = Array.isArray(sigma.falsepositives)
      ? ` False positives: ${sigma.falsepositives.join('; ')}.`
      : '';
    return {
      rule: title,
      id,
      desc: `${typeof sigma.description === 'string' ? sigma.description.trim() : title}${falsePositives} (imported from Sigma)`,
      condition,
      output: `${title}: %process.executable (pid %process.pid) on %domain`,
      severity: level,
      tags: [...tags, 'sigma'],
      source: 'sigma',
    };
  } catch (error) {
    if (error instanceof Unmapped) return fail(error.message);
    throw error;
  }
}

/** Imports Sigma rule files; each rule that maps becomes a Ringside rule in the returned YAML. */
export function importSigma(files: readonly { file: string; text: string }[]): SigmaImportResult {
  const bag = new DiagnosticBag();
  const rules: Record<string, unknown>[] = [];
  for (const { file, text } of files) {
    const reader = new YamlReader(file, text, bag, false);
    for (const document of reader.documents()) {
      const at = document.at;
      if (!isMap(document.contents)) {
        if (document.contents !== null)
          bag.error('SIGMA_UNMAPPED', 'a Sigma rule is a YAML mapping', at);
        continue;
      }
      const sigma = document.toJS() as Record<string, unknown>;
      if (sigma.action !== undefined) {
        bag.error(
          'SIGMA_UNMAPPED',
          `Sigma collections (action: ${String(sigma.action)}) are not supported; import the rules one by one`,
          at,
        );
        continue;
      }
      // One rule that trips the converter must not cost the batch the rules that convert.
      let rule: Record<string, unknown> | undefined;
      try {
        rule = importOne(sigma, at, bag);
      } catch (error) {
        bag.error(
          'SIGMA_UNMAPPED',
          `${String(sigma.title ?? 'untitled Sigma rule')}: not converted (internal error: ${(error as Error).message}); please report it`,
          at,
        );
      }
      if (rule !== undefined) rules.push(rule);
    }
  }
  return {
    yaml:
      rules.length === 0
        ? ''
        : `# Imported from Sigma by ringside rules import-sigma; review before use.\n${stringify(rules, { lineWidth: 0 })}`,
    imported: rules.map((rule) => ({ title: String(rule.rule), id: String(rule.id) })),
    diagnostics: bag.items,
  };
}
