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

/**
 * auditd records (`service: auditd`) map one selection at a time, by the selection's record `type`
 * (and for SYSCALL records its `SYSCALL` name): an EXECVE record is a program started, its a0, a1 …
 * the arguments; a SYSCALL record of execve, a module load or a uid change is the event Ringside has
 * for it. PATH records (files opened) and other syscalls have no Ringside event and are reported.
 */
const AUDIT_PROCESS_FIELDS: Record<string, string> = {
  exe: 'process.executable',
  comm: 'process.name',
  pid: 'process.pid',
  ppid: 'process.ppid',
  uid: 'user.id',
  euid: 'user.effective_id',
  gid: 'user.group_id',
};
const AUDIT_ARGUMENTS: Record<string, string> = Object.fromEntries(
  Array.from({ length: 16 }, (_, index) => [`a${index}`, `process.args[${index}]`]),
);
const AUDIT_SYSCALLS: Record<string, EventType> = {
  execve: 'process.exec',
  execveat: 'process.exec',
  init_module: 'module.load',
  finit_module: 'module.load',
  delete_module: 'module.unload',
  setuid: 'cred.change',
  setreuid: 'cred.change',
  setresuid: 'cred.change',
  setgid: 'cred.change',
  setregid: 'cred.change',
  setresgid: 'cred.change',
};

/**
 * The Ringside event and fields of one auditd selection, undefined when it names no record type
 * (it then narrows the rule's other selections: same record); throws Unmapped when there is none.
 */
function auditMapping(selection: unknown, name: string): LogSourceMapping | undefined {
  const maps = Array.isArray(selection) ? selection : [selection];
  let found: LogSourceMapping | undefined;
  for (const map of maps) {
    if (map === null || typeof map !== 'object' || Array.isArray(map)) continue;
    const record = (map as Record<string, unknown>).type;
    if (record === undefined) {
      if (found !== undefined)
        throw new Unmapped(`auditd selection '${name}' mixes maps with and without a record type`);
      continue;
    }
    if (typeof record !== 'string')
      throw new Unmapped(`auditd selection '${name}' names more than one record type`);
    let mapping: LogSourceMapping;
    if (record.toUpperCase() === 'EXECVE')
      mapping = { type: 'process.exec', fields: { ...AUDIT_PROCESS_FIELDS, ...AUDIT_ARGUMENTS } };
    else if (record.toUpperCase() === 'SYSCALL') {
      const call = (map as Record<string, unknown>).SYSCALL;
      const calls = (Array.isArray(call) ? call : [call]).map(String);
      const types = new Set(calls.map((value) => AUDIT_SYSCALLS[value]));
      const [type] = types;
      if (call === undefined || types.size !== 1 || type === undefined)
        throw new Unmapped(
          `auditd SYSCALL record${call === undefined ? ' of any system call' : ` of ${calls.join(', ')}`}: Ringside observes ${Object.keys(AUDIT_SYSCALLS).join(', ')}`,
        );
      mapping = { type, fields: AUDIT_PROCESS_FIELDS };
    } else if (record.toUpperCase() === 'PATH')
      throw new Unmapped(
        `auditd PATH records (files opened) need file events, which Ringside does not observe`,
      );
    else throw new Unmapped(`auditd record type ${record} has no Ringside event`);
    if (found !== undefined && found.type !== mapping.type)
      throw new Unmapped(`auditd selection '${name}' mixes record types`);
    found = mapping;
  }
  return found;
}

/** Keys of an auditd selection that chose its mapping (record type, syscall name): not fields. */
const AUDIT_SELECTORS = new Set(['type', 'SYSCALL']);

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
  /** An auditd rule: each selection maps by its record type (see auditMapping). */
  audit: boolean;
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
  // Arguments are text: auditd's `a1: 777` is the string "777".
  const values = (Array.isArray(value) ? value : [value]).map((item) =>
    field.startsWith('process.args[') && typeof item === 'number' ? String(item) : item,
  );
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
    const entries = Object.entries(value as Record<string, unknown>).filter(
      ([key]) => !(context.audit && AUDIT_SELECTORS.has(key)),
    );
    if (entries.length === 0) {
      // An auditd selection of the record type alone (`type: EXECVE`) holds for every such record.
      if (context.audit) return { kind: 'bool', value: true, at: context.at };
      throw new Unmapped(`'${name}' is empty`);
    }
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

/** `type = t` or `type in (t, u)`. */
function typeIs(types: EventType[], at: Location): Condition {
  return {
    kind: 'compare',
    field: 'type',
    operator: types.length === 1 ? '=' : 'in',
    values: types.map((text) => ({ kind: 'word', text, at })),
    at,
  };
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
  const audit = key === 'linux/auditd';
  const mapping = audit ? { type: 'process.exec' as EventType, fields: {} } : LOG_SOURCES[key];
  if (key === 'linux/file_event')
    return fail(
      `log source file_event: file events, which Ringside does not observe (no hook on open and its kin)`,
    );
  if (mapping === undefined)
    return fail(
      `log source ${JSON.stringify(logsource)} has no Ringside event (mapped: ${Object.keys(LOG_SOURCES).join(', ')})`,
    );
  const detection = sigma.detection as Record<string, unknown> | undefined;
  if (detection === undefined || typeof detection !== 'object') return fail('no detection');
  const context: Context = { mapping, audit, at, selections: new Map() };
  try {
    // auditd: the event type of each selection; one for the whole rule when they agree.
    const selectionTypes = new Map<string, EventType>();
    const mappings = new Map<string, LogSourceMapping | undefined>();
    for (const [name, value] of Object.entries(detection))
      if (audit && name !== 'condition' && name !== 'timeframe')
        mappings.set(name, auditMapping(value, name));
    const typed = [...mappings.values()].filter((item) => item !== undefined);
    // A selection with no record type narrows the others: it maps as they do, when they agree.
    const shared = new Set(typed.map((item) => item.type)).size === 1 ? typed[0] : undefined;
    for (const [name, value] of Object.entries(detection)) {
      if (name === 'condition' || name === 'timeframe') continue;
      if (audit) {
        const own = mappings.get(name) ?? shared;
        const keywords =
          Array.isArray(value) &&
          value.every((item) => typeof item === 'string' || typeof item === 'number');
        if (own === undefined && !keywords)
          throw new Unmapped(
            `auditd selection '${name}' names no record type, and the rule's others name none or several`,
          );
        context.mapping = own ?? { type: 'process.exec', fields: {} };
        if (mappings.get(name) !== undefined) selectionTypes.set(name, own!.type);
      }
      context.selections.set(name, selectionCondition(value, name, context));
    }
    const ruleTypes = [...new Set(selectionTypes.values())];
    if (ruleTypes.length > 1)
      for (const [name, type] of selectionTypes)
        context.selections.set(name, and(typeIs([type], at), context.selections.get(name)!, at));
    if (audit && ruleTypes.length === 1) context.mapping = { type: ruleTypes[0]!, fields: {} };
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
    const types = ruleTypes.length > 1 ? ruleTypes : [context.mapping.type];
    const condition = formatCondition(and(typeIs(types, at), body, at));
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
