// The loader pipeline: collect (YAML, append/override) → parse conditions → resolve macros and lists
// → check fields and types → a Ruleset ready to compile. Every problem is collected as a diagnostic.
import type {
  AttackTechnique,
  ResponseActionName,
  Severity,
} from '../introspect/events/finding.js';
import { isResponseAction, RESPONSE_ACTIONS } from '../introspect/events/finding.js';
import { collectFile, emptyCollection } from './collect.js';
import type { RawRule, RuleFile } from './collect.js';
import type { RawCorrelation } from './collect-correlation.js';
import type { RawException } from './collect-exceptions.js';
import type { Checked } from './check.js';
import { checkCondition, checkField } from './check.js';
import { canonicalField } from './falco-fields.js';
import type { Diagnostic, DiagnosticCode } from './diagnostics.js';
import { DiagnosticBag, sortDiagnostics } from './diagnostics.js';
import { parseCondition } from './parser.js';
import type { Definitions, ResolveUsage } from './resolve.js';
import { resolveCondition } from './resolve.js';
import type { SourceText } from './source.js';
import type { ComparisonOperator, Condition, Location } from './types.js';
import { COMPARISON_OPERATORS, junction } from './types.js';
import type { Located } from './yaml-reader.js';

export type OutputPart = { text: string } | { field: string };

export interface LoadedCorrelation {
  kind: 'sequence' | 'threshold';
  by: string[];
  /** Per step, the fields its events are keyed by (the sequence's `by` unless the step names its own). */
  stepBy: string[][];
  /** ms */
  within: number;
  count: number;
  maxKeys: number;
  steps: { name: string; condition: Checked }[];
}

export interface LoadedRule {
  id: string;
  name: string;
  description: string;
  severity: Severity;
  mitre: AttackTechnique[];
  tags: string[];
  output: OutputPart[];
  /** Fields copied into the finding's evidence. */
  fields: string[];
  /** Response actions run when it fires (off unless the rule names them; see docs/rules.md). */
  actions: ResponseActionName[];
  enabled: boolean;
  /** The rule's condition with its exceptions; for a sequence, undefined (see correlation.steps). */
  condition: Checked | undefined;
  correlation: LoadedCorrelation | undefined;
  at: Location;
}

export interface Ruleset {
  /** All rules, in definition order; disabled ones are kept (enabled: false) so tools can list them. */
  rules: LoadedRule[];
  files: string[];
}

/** A rule left out for its errors, with the codes of those errors (what it would need to load). */
export interface NotLoaded {
  name: string;
  at: Location;
  codes: DiagnosticCode[];
}

export interface LoadResult {
  ruleset: Ruleset;
  diagnostics: Diagnostic[];
  errorCount: number;
  /** The rules left out for their errors, in definition order. */
  notLoaded: NotLoaded[];
}

const SEVERITY_NAMES: Record<string, Severity> = {
  informational: 'informational',
  info: 'informational',
  debug: 'informational',
  low: 'low',
  notice: 'low',
  medium: 'medium',
  warning: 'medium',
  high: 'high',
  error: 'high',
  critical: 'critical',
  alert: 'critical',
  emergency: 'critical',
};
const TECHNIQUE = /^T[0-9]{4}(\.[0-9]{3})?$/;
const TECHNIQUE_TAG = /^(?:attack\.|mitre[._-]?)?(t[0-9]{4}(?:\.[0-9]{3})?)$/i;
const DURATION = /^([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)$/;
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
export const DEFAULT_MAX_KEYS = 10_000;

export function slugify(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function parseOutput(output: Located<string> | undefined, bag: DiagnosticBag): OutputPart[] {
  if (output === undefined) return [];
  const parts: OutputPart[] = [];
  const pattern = /%%|%([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)/g;
  let last = 0;
  for (const match of output.value.matchAll(pattern)) {
    if (match.index > last) parts.push({ text: output.value.slice(last, match.index) });
    if (match[0] === '%%') parts.push({ text: '%' });
    else {
      // An unknown field in an output template costs the finding one value, not the rule: a warning.
      const field = match[1] === 'evt.type' ? 'type' : canonicalField(match[1]!);
      if (checkField(field, output.at, bag, 'warning') !== undefined) parts.push({ field });
      else parts.push({ text: '<NA>' });
    }
    last = match.index + match[0].length;
  }
  if (last < output.value.length) parts.push({ text: output.value.slice(last) });
  return parts;
}

function parseDuration(value: Located<unknown>, bag: DiagnosticBag): number | undefined {
  if (typeof value.value === 'bigint' || typeof value.value === 'number')
    return Number(value.value);
  const match = typeof value.value === 'string' ? DURATION.exec(value.value.trim()) : null;
  if (match === null) {
    bag.error('BAD_DURATION', `a duration is a number of ms or like 500ms, 5s, 2m, 1h`, value.at);
    return undefined;
  }
  return Number(match[1]) * DURATION_UNITS[match[2]!]!;
}

function positiveInteger(
  value: Located<unknown>,
  key: string,
  bag: DiagnosticBag,
  maximum: number,
): number | undefined {
  const number =
    typeof value.value === 'bigint' || typeof value.value === 'number' ? Number(value.value) : NaN;
  if (!Number.isInteger(number) || number < 1 || number > maximum) {
    bag.error('BAD_VALUE', `'${key}' must be an integer from 1 to ${maximum}`, value.at);
    return undefined;
  }
  return number;
}

/** Operators that take a set of values (any of them). */
const SET_OPERATORS: ReadonlySet<ComparisonOperator> = new Set([
  'in',
  'contains',
  'icontains',
  'startswith',
  'endswith',
  'glob',
  'regex',
  'cidr',
]);

/** Falco's exceptions as conditions: `and not ((f1 c1 v1 and f2 c2 v2) or …)`. */
function exceptionCondition(exceptions: RawException[], bag: DiagnosticBag): Condition | undefined {
  let any: Condition | undefined;
  for (const exception of exceptions) {
    const comps: ComparisonOperator[] = [];
    for (const comp of exception.comps) {
      if (!(COMPARISON_OPERATORS as readonly string[]).includes(comp.value)) {
        bag.error('BAD_OPERATOR', `'${comp.value}' is not a comparison operator`, comp.at);
        return undefined;
      }
      comps.push(comp.value as ComparisonOperator);
    }
    if (comps.length !== exception.fields.length) return undefined;
    for (const row of exception.values) {
      let all: Condition | undefined;
      exception.fields.forEach((field, index) => {
        const operator = comps[index]!;
        const values = row[index] ?? [];
        if (values.length !== 1 && !SET_OPERATORS.has(operator)) {
          bag.error(
            'BAD_VALUE',
            `exception '${exception.name}': a list of values needs comps 'in' (or a set operator)`,
            values[0]?.at ?? exception.at,
          );
          return;
        }
        const leaf: Condition = {
          kind: 'compare',
          field: field.value,
          operator,
          values,
          ...(operator !== 'in' && values.length > 1 ? { grouped: true } : {}),
          at: values[0]?.at ?? field.at,
        };
        all = all === undefined ? leaf : junction('and', [all, leaf], leaf.at);
      });
      if (all !== undefined)
        any = any === undefined ? all : junction('or', [any, all], exception.at);
    }
  }
  return any;
}

interface Pipeline {
  bag: DiagnosticBag;
  definitions: Definitions;
  usage: ResolveUsage;
}

function parseAndResolve(source: SourceText, pipeline: Pipeline): Condition | undefined {
  const parsed = parseCondition(source);
  if (!parsed.ok) {
    pipeline.bag.error('SYNTAX', parsed.error.message, parsed.error.at);
    return undefined;
  }
  return resolveCondition(parsed.condition, pipeline.definitions, pipeline.bag, pipeline.usage);
}

function buildCorrelation(
  raw: RawCorrelation,
  rule: RawRule,
  base: Checked | undefined,
  pipeline: Pipeline,
): LoadedCorrelation | undefined {
  const { bag } = pipeline;
  let failed = false;
  const by = raw.by.length === 0 ? ['domain'] : raw.by.map((field) => field.value);
  for (const field of raw.by)
    if (checkField(field.value, field.at, bag) === undefined) failed = true;
  if (raw.within === undefined) {
    bag.error('MISSING_KEY', `${raw.kind} of rule '${rule.name}' needs 'within'`, raw.at);
    failed = true;
  }
  const within = raw.within === undefined ? undefined : parseDuration(raw.within, bag);
  const maxKeys =
    raw.maxKeys === undefined
      ? DEFAULT_MAX_KEYS
      : positiveInteger(raw.maxKeys, 'max_keys', bag, 10_000_000);
  let count = 1;
  const steps: LoadedCorrelation['steps'] = [];
  const stepBy: string[][] = [];
  if (raw.kind === 'threshold') {
    if (raw.count === undefined) {
      bag.error('MISSING_KEY', `threshold of rule '${rule.name}' needs 'count'`, raw.at);
      failed = true;
    } else count = positiveInteger(raw.count, 'count', bag, 100_000) ?? 0;
    if (base !== undefined) steps.push({ name: 'threshold', condition: base });
    else failed = true;
  } else {
    if (raw.steps.length < 2) {
      bag.error('BAD_VALUE', `sequence of rule '${rule.name}' needs at least two steps`, raw.at);
      failed = true;
    }
    for (const step of raw.steps) {
      if (step.condition === undefined) {
        failed = true;
        continue;
      }
      if (step.by !== undefined) {
        for (const field of step.by)
          if (checkField(field.value, field.at, bag) === undefined) failed = true;
        if (step.by.length !== by.length) {
          bag.error(
            'BAD_VALUE',
            `step '${step.name}' has ${step.by.length} 'by' field(s); the sequence's key has ${by.length}`,
            step.by[0]?.at ?? step.at,
          );
          failed = true;
        }
      }
      stepBy.push(step.by?.map((field) => field.value) ?? by);
      const resolved = parseAndResolve(step.condition, pipeline);
      const checked = resolved === undefined ? undefined : checkCondition(resolved, bag);
      if (checked === undefined) failed = true;
      else steps.push({ name: step.name, condition: checked });
    }
  }
  if (raw.kind === 'threshold') stepBy.push(by);
  if (failed || within === undefined || maxKeys === undefined || count === 0) return undefined;
  return { kind: raw.kind, by, stepBy, within, count, maxKeys, steps };
}

function buildRule(raw: RawRule, pipeline: Pipeline): LoadedRule | undefined {
  const { bag } = pipeline;
  let failed = false;
  let condition: Checked | undefined;
  if (raw.condition !== undefined) {
    let resolved = parseAndResolve(raw.condition, pipeline);
    const exceptions = exceptionCondition(raw.exceptions, bag);
    if (resolved !== undefined && exceptions !== undefined) {
      const at = raw.exceptions[0]!.at;
      resolved = junction('and', [resolved, { kind: 'not', operand: exceptions, at }], at);
    }
    condition = resolved === undefined ? undefined : checkCondition(resolved, bag);
    if (condition === undefined) failed = true;
  } else if (raw.correlation?.kind !== 'sequence') failed = true;
  if (raw.correlation?.kind === 'sequence' && raw.exceptions.length > 0)
    bag.error(
      'BAD_VALUE',
      `rule '${raw.name}' is a sequence: put its exceptions in the step conditions`,
      raw.exceptions[0]!.at,
    );

  let severity: Severity = 'medium';
  if (raw.severity === undefined)
    bag.warning('MISSING_KEY', `rule '${raw.name}' has no severity (medium assumed)`, raw.at);
  else {
    const known = SEVERITY_NAMES[raw.severity.value.toLowerCase()];
    if (known === undefined) {
      bag.error(
        'BAD_SEVERITY',
        `'${raw.severity.value}' is not a severity (informational, low, medium, high, critical)`,
        raw.severity.at,
      );
      failed = true;
    } else severity = known;
  }
  const mitre: AttackTechnique[] = [];
  for (const technique of raw.mitre) {
    if (!TECHNIQUE.test(technique.value)) {
      bag.error(
        'BAD_MITRE',
        `'${technique.value}' is not an ATT&CK technique id (T1234 or T1234.001)`,
        technique.at,
      );
      failed = true;
    } else if (!mitre.some((known) => known.id === technique.value))
      mitre.push({ id: technique.value });
  }
  for (const tag of raw.tags) {
    const match = TECHNIQUE_TAG.exec(tag.value);
    const id = match?.[1]?.toUpperCase();
    if (id !== undefined && !mitre.some((known) => known.id === id)) mitre.push({ id });
  }
  const actions: ResponseActionName[] = [];
  for (const action of raw.actions) {
    if (!isResponseAction(action.value)) {
      bag.error(
        'BAD_VALUE',
        `'${action.value}' is not a response action (${RESPONSE_ACTIONS.join(', ')})`,
        action.at,
      );
      failed = true;
    } else if (!actions.includes(action.value)) actions.push(action.value);
  }
  for (const field of raw.fields)
    if (checkField(field.value, field.at, bag) === undefined) failed = true;
  const before = bag.errorCount;
  const output = parseOutput(raw.output, bag);
  if (bag.errorCount > before) failed = true;
  const correlation =
    raw.correlation === undefined
      ? undefined
      : buildCorrelation(raw.correlation, raw, condition, pipeline);
  if (raw.correlation !== undefined && correlation === undefined) failed = true;
  if (failed) return undefined;
  return {
    id: raw.id?.value ?? slugify(raw.name),
    name: raw.name,
    description: raw.description,
    severity,
    mitre,
    tags: raw.tags.map((tag) => tag.value),
    output: output.length > 0 ? output : [{ text: raw.name }],
    fields: raw.fields.map((field) => field.value),
    actions,
    enabled: raw.enabled,
    condition: raw.correlation?.kind === 'sequence' ? undefined : condition,
    correlation,
    at: raw.at,
  };
}

/** Loads rule files given as text, in order (later files append to or override earlier ones). */
export function loadRuleFiles(files: readonly RuleFile[]): LoadResult {
  const bag = new DiagnosticBag();
  const collection = emptyCollection();
  for (const file of files) collectFile(file, collection, bag);

  const definitions: Definitions = { macros: new Map(), lists: new Map() };
  for (const list of collection.lists.values()) definitions.lists.set(list.name, list.items);
  for (const macro of collection.macros.values()) {
    const parsed = parseCondition(macro.condition);
    if (!parsed.ok) bag.error('SYNTAX', parsed.error.message, parsed.error.at);
    definitions.macros.set(macro.name, parsed.ok && !macro.broken ? parsed.condition : undefined);
  }
  const pipeline: Pipeline = { bag, definitions, usage: { macros: new Set(), lists: new Set() } };
  const rules: LoadedRule[] = [];
  const ids = new Map<string, LoadedRule>();
  const notLoaded: NotLoaded[] = [];
  for (const raw of collection.rules.values()) {
    const mark = bag.items.length;
    const rule = buildRule(raw, pipeline);
    // A rule with an error is left out (its diagnostics are all reported); the others load.
    if (rule === undefined || raw.broken) {
      const codes = new Set<DiagnosticCode>();
      for (const item of bag.items.slice(mark)) if (item.severity === 'error') codes.add(item.code);
      notLoaded.push({ name: raw.name, at: raw.at, codes: [...codes] });
      continue;
    }
    const clash = ids.get(rule.id);
    if (clash !== undefined) {
      bag.error(
        'DUPLICATE',
        `rule id '${rule.id}' is already used by rule '${clash.name}'`,
        raw.id?.at ?? raw.at,
      );
      continue;
    }
    ids.set(rule.id, rule);
    rules.push(rule);
  }
  for (const macro of collection.macros.values())
    if (!pipeline.usage.macros.has(macro.name))
      bag.warning('UNUSED', `macro '${macro.name}' is not used by any rule`, macro.at);
  for (const list of collection.lists.values())
    if (!pipeline.usage.lists.has(list.name))
      bag.warning('UNUSED', `list '${list.name}' is not used by any rule`, list.at);
  if (collection.rules.size === 0 && files.length > 0)
    bag.warning('NO_RULES', 'no rules were found', { file: files[0]!.file, line: 1, col: 1 });
  return {
    ruleset: { rules, files: files.map((file) => file.file) },
    diagnostics: sortDiagnostics(bag.items),
    errorCount: bag.errorCount,
    notLoaded,
  };
}
