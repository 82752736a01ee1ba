// Pass 1 of the loader: reads YAML rule files and collects rules, macros and lists, applying Falco's
// append/override semantics across files in load order. Conditions stay located text here.
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Node, Scalar, YAMLMap } from 'yaml';
import type { DiagnosticBag } from './diagnostics.js';
import type { SourceText } from './source.js';
import { joinSources, scalarSource } from './source.js';
import type { Literal, Location } from './types.js';

export interface RuleFile {
  file: string;
  text: string;
}

/** A value and where it was written. */
export interface Located<T> {
  value: T;
  at: Location;
}

export interface RawException {
  name: string;
  fields: Located<string>[];
  comps: Located<string>[];
  values: Literal[][];
  at: Location;
}

export interface RawCorrelation {
  kind: 'sequence' | 'threshold';
  by: Located<string>[];
  within: Located<unknown> | undefined;
  count: Located<unknown> | undefined;
  maxKeys: Located<unknown> | undefined;
  steps: {
    name: string;
    condition: SourceText | undefined;
    /** This step's own key fields (one per `by` field of the sequence), if it has them. */
    by: Located<string>[] | undefined;
    at: Location;
  }[];
  at: Location;
}

export interface RawRule {
  name: string;
  at: Location;
  id: Located<string> | undefined;
  description: string;
  condition: SourceText | undefined;
  conditionAt: Location | undefined;
  output: Located<string> | undefined;
  severity: Located<string> | undefined;
  mitre: Located<string>[];
  tags: Located<string>[];
  enabled: boolean;
  exceptions: RawException[];
  fields: Located<string>[];
  correlation: RawCorrelation | undefined;
  source: string | undefined;
}

export interface RawMacro {
  name: string;
  condition: SourceText;
  at: Location;
}

export interface RawList {
  name: string;
  items: Literal[];
  at: Location;
}

export interface Collection {
  rules: Map<string, RawRule>;
  macros: Map<string, RawMacro>;
  lists: Map<string, RawList>;
}

const RULE_KEYS = new Set([
  'rule',
  'id',
  'desc',
  'description',
  'condition',
  'output',
  'priority',
  'severity',
  'tags',
  'mitre',
  'enabled',
  'exceptions',
  'fields',
  'append',
  'override',
  'sequence',
  'threshold',
  'source',
]);
const MACRO_KEYS = new Set(['macro', 'condition', 'append', 'override']);
const LIST_KEYS = new Set(['list', 'items', 'append', 'override']);
const IGNORED_ITEMS = new Set(['required_engine_version', 'required_plugin_versions']);
const MERGEABLE = new Set(['condition', 'exceptions', 'items', 'tags', 'mitre', 'fields']);

class FileReader {
  private readonly lines = new LineCounter();

  constructor(
    readonly file: string,
    readonly text: string,
    readonly bag: DiagnosticBag,
  ) {}

  parse(): { documents: ReturnType<typeof parseAllDocuments>; lines: LineCounter } {
    const documents = parseAllDocuments(this.text, { lineCounter: this.lines, intAsBigInt: true });
    return { documents, lines: this.lines };
  }

  locate = (offset: number): Location => {
    const position = this.lines.linePos(offset);
    return { file: this.file, line: position.line, col: position.col };
  };

  at(node: Node | null | undefined): Location {
    return this.locate(node?.range?.[0] ?? 0);
  }

  string(node: Node | null | undefined, key: string): Located<string> | undefined {
    if (
      isScalar(node) &&
      (typeof node.value === 'string' ||
        typeof node.value === 'bigint' ||
        typeof node.value === 'number')
    )
      return { value: String(node.value), at: this.at(node) };
    this.bag.error('BAD_VALUE', `'${key}' must be a string`, this.at(node));
    return undefined;
  }

  source(node: Node | null | undefined, key: string): SourceText | undefined {
    if (isScalar(node) && typeof node.value === 'string')
      return scalarSource(
        node.value.replace(/\n$/, ''),
        this.text,
        [node.range![0], node.range![1]],
        this.locate,
      );
    this.bag.error('BAD_VALUE', `'${key}' must be a string`, this.at(node));
    return undefined;
  }

  stringList(node: Node | null | undefined, key: string): Located<string>[] {
    if (isScalar(node) && typeof node.value === 'string')
      return [{ value: node.value, at: this.at(node) }];
    if (!isSeq(node)) {
      this.bag.error('BAD_VALUE', `'${key}' must be a list of strings`, this.at(node));
      return [];
    }
    const out: Located<string>[] = [];
    for (const item of node.items as Node[]) {
      const value = this.string(item, key);
      if (value !== undefined) out.push(value);
    }
    return out;
  }

  literal(node: Node | null | undefined, key: string): Literal | undefined {
    if (isScalar(node)) {
      const scalar = node as Scalar;
      if (typeof scalar.value === 'bigint' || typeof scalar.value === 'number')
        return { kind: 'number', text: scalar.source ?? String(scalar.value), at: this.at(node) };
      if (typeof scalar.value === 'string')
        return { kind: 'string', text: scalar.value, at: this.at(node) };
      if (typeof scalar.value === 'boolean')
        return { kind: 'word', text: String(scalar.value), at: this.at(node) };
    }
    this.bag.error('BAD_VALUE', `'${key}' must hold plain values`, this.at(node));
    return undefined;
  }

  literals(node: Node | null | undefined, key: string): Literal[] {
    if (!isSeq(node)) {
      this.bag.error('BAD_VALUE', `'${key}' must be a list`, this.at(node));
      return [];
    }
    const out: Literal[] = [];
    for (const item of node.items as Node[]) {
      const literal = this.literal(item, key);
      if (literal !== undefined) out.push(literal);
    }
    return out;
  }

  boolean(node: Node | null | undefined, key: string): boolean | undefined {
    if (isScalar(node) && typeof node.value === 'boolean') return node.value;
    this.bag.error('BAD_VALUE', `'${key}' must be true or false`, this.at(node));
    return undefined;
  }

  entries(map: YAMLMap): Map<string, { key: Node; value: Node | null }> {
    const out = new Map<string, { key: Node; value: Node | null }>();
    for (const pair of map.items) {
      const key = pair.key as Node;
      if (!isScalar(key) || typeof key.value !== 'string') {
        this.bag.error('BAD_ITEM', 'keys must be strings', this.at(key));
        continue;
      }
      out.set(key.value, { key, value: pair.value as Node | null });
    }
    return out;
  }
}

type Entries = Map<string, { key: Node; value: Node | null }>;

function checkKeys(reader: FileReader, entries: Entries, allowed: Set<string>, what: string): void {
  for (const [name, { key }] of entries)
    if (!allowed.has(name))
      reader.bag.warning('UNKNOWN_KEY', `unknown key '${name}' in a ${what}`, reader.at(key));
}

/** How each key of a redefinition combines with the earlier definition. */
function mergeModes(
  reader: FileReader,
  entries: Entries,
): Map<string, 'append' | 'replace'> | undefined {
  const modes = new Map<string, 'append' | 'replace'>();
  const append = entries.get('append');
  const override = entries.get('override');
  if (append !== undefined && reader.boolean(append.value, 'append') === true)
    for (const key of MERGEABLE) modes.set(key, 'append');
  if (override !== undefined) {
    if (!isMap(override.value)) {
      reader.bag.error(
        'BAD_VALUE',
        "'override' must map keys to append or replace",
        reader.at(override.value),
      );
      return modes;
    }
    for (const [key, { value }] of reader.entries(override.value)) {
      const mode = isScalar(value) ? value.value : undefined;
      if (mode !== 'append' && mode !== 'replace') {
        reader.bag.error(
          'BAD_VALUE',
          `override of '${key}' must be append or replace`,
          reader.at(value),
        );
        continue;
      }
      if (mode === 'append' && !MERGEABLE.has(key)) {
        reader.bag.error(
          'BAD_VALUE',
          `'${key}' cannot be appended, only replaced`,
          reader.at(value),
        );
        continue;
      }
      modes.set(key, mode);
    }
  }
  return append === undefined && override === undefined ? undefined : modes;
}

function collectExceptions(reader: FileReader, node: Node | null): RawException[] {
  if (!isSeq(node)) {
    reader.bag.error('BAD_VALUE', "'exceptions' must be a list", reader.at(node));
    return [];
  }
  const out: RawException[] = [];
  for (const item of node.items as Node[]) {
    if (!isMap(item)) {
      reader.bag.error(
        'BAD_VALUE',
        'an exception must be a mapping with name, fields and values',
        reader.at(item),
      );
      continue;
    }
    const entries = reader.entries(item);
    checkKeys(reader, entries, new Set(['name', 'fields', 'comps', 'values']), 'exception');
    const nameNode = entries.get('name');
    const name = nameNode === undefined ? '' : (reader.string(nameNode.value, 'name')?.value ?? '');
    const fieldsNode = entries.get('fields');
    if (fieldsNode === undefined) {
      reader.bag.error('MISSING_KEY', `exception '${name}' has no 'fields'`, reader.at(item));
      continue;
    }
    const single = isScalar(fieldsNode.value);
    const fields = reader.stringList(fieldsNode.value, 'fields');
    const compsNode = entries.get('comps');
    const comps =
      compsNode === undefined
        ? fields.map((field) => ({ value: '=', at: field.at }))
        : reader.stringList(compsNode.value, 'comps');
    if (comps.length !== fields.length)
      reader.bag.error(
        'BAD_VALUE',
        `exception '${name}' has ${fields.length} fields and ${comps.length} comps`,
        reader.at(compsNode?.value ?? item),
      );
    const values: Literal[][] = [];
    const valuesNode = entries.get('values')?.value;
    if (valuesNode !== undefined && valuesNode !== null) {
      if (!isSeq(valuesNode))
        reader.bag.error('BAD_VALUE', "exception 'values' must be a list", reader.at(valuesNode));
      else
        for (const tuple of valuesNode.items as Node[]) {
          if (single) {
            // With one field, each value is one case (a list for an `in` comparison).
            const literal = isSeq(tuple)
              ? reader.literals(tuple, 'values')
              : [reader.literal(tuple, 'values')];
            values.push(literal.filter((l): l is Literal => l !== undefined));
            continue;
          }
          if (!isSeq(tuple) || tuple.items.length !== fields.length) {
            reader.bag.error(
              'BAD_VALUE',
              `each case of exception '${name}' needs ${fields.length} values`,
              reader.at(tuple),
            );
            continue;
          }
          const row: Literal[] = [];
          for (const cell of tuple.items as Node[]) {
            if (isSeq(cell)) {
              // A list cell is the value set of an `in` comparison; kept as consecutive literals.
              reader.bag.error(
                'BAD_VALUE',
                'a list inside a multi-field exception case is not supported; split the case',
                reader.at(cell),
              );
              continue;
            }
            const literal = reader.literal(cell, 'values');
            if (literal !== undefined) row.push(literal);
          }
          if (row.length === fields.length) values.push(row);
        }
    }
    out.push({ name, fields, comps, values, at: reader.at(item) });
  }
  return out;
}

function collectCorrelation(
  reader: FileReader,
  kind: 'sequence' | 'threshold',
  node: Node | null,
): RawCorrelation | undefined {
  if (!isMap(node)) {
    reader.bag.error('BAD_VALUE', `'${kind}' must be a mapping`, reader.at(node));
    return undefined;
  }
  const entries = reader.entries(node);
  const allowed =
    kind === 'sequence'
      ? ['by', 'within', 'steps', 'max_keys']
      : ['by', 'within', 'count', 'max_keys'];
  checkKeys(reader, entries, new Set(allowed), kind);
  const located = (key: string): Located<unknown> | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    return {
      value: isScalar(entry.value) ? entry.value.value : undefined,
      at: reader.at(entry.value),
    };
  };
  const steps: RawCorrelation['steps'] = [];
  if (kind === 'sequence') {
    const stepsNode = entries.get('steps')?.value;
    if (!isSeq(stepsNode))
      reader.bag.error(
        'MISSING_KEY',
        "a sequence needs 'steps', a list of conditions",
        reader.at(node),
      );
    else
      (stepsNode.items as Node[]).forEach((step, index) => {
        if (isScalar(step)) {
          steps.push({
            name: `step ${index + 1}`,
            condition: reader.source(step, 'condition'),
            by: undefined,
            at: reader.at(step),
          });
          return;
        }
        if (!isMap(step)) {
          reader.bag.error(
            'BAD_VALUE',
            'a step is a condition or a mapping with name and condition',
            reader.at(step),
          );
          return;
        }
        const stepEntries = reader.entries(step);
        checkKeys(reader, stepEntries, new Set(['name', 'condition', 'by']), 'step');
        const stepBy = stepEntries.get('by');
        const condition = stepEntries.get('condition');
        if (condition === undefined)
          reader.bag.error('MISSING_KEY', "a step needs a 'condition'", reader.at(step));
        steps.push({
          name:
            (stepEntries.has('name')
              ? reader.string(stepEntries.get('name')!.value, 'name')?.value
              : undefined) ?? `step ${index + 1}`,
          condition:
            condition === undefined ? undefined : reader.source(condition.value, 'condition'),
          by: stepBy === undefined ? undefined : reader.stringList(stepBy.value, 'by'),
          at: reader.at(step),
        });
      });
  }
  const byNode = entries.get('by');
  return {
    kind,
    by: byNode === undefined ? [] : reader.stringList(byNode.value, 'by'),
    within: located('within'),
    count: located('count'),
    maxKeys: located('max_keys'),
    steps,
    at: reader.at(node),
  };
}

function collectRule(
  reader: FileReader,
  entries: Entries,
  itemAt: Location,
  collection: Collection,
): void {
  const nameEntry = entries.get('rule')!;
  const name = reader.string(nameEntry.value, 'rule');
  if (name === undefined) return;
  checkKeys(reader, entries, RULE_KEYS, 'rule');
  const modes = mergeModes(reader, entries);
  const existing = collection.rules.get(name.value);
  const only = (key: string): Node | null | undefined => entries.get(key)?.value;

  if (
    modes !== undefined ||
    (existing !== undefined && entries.size === 2 && entries.has('enabled'))
  ) {
    if (existing === undefined) {
      reader.bag.error(
        'APPEND_UNKNOWN',
        `rule '${name.value}' is appended to or overridden but not defined before`,
        name.at,
      );
      return;
    }
    for (const [key, { value }] of entries) {
      if (key === 'rule' || key === 'append' || key === 'override') continue;
      const mode = modes?.get(key) ?? (key === 'enabled' ? 'replace' : undefined);
      if (mode === undefined) {
        reader.bag.error(
          'BAD_VALUE',
          `'${key}' of rule '${name.value}' is given without override (append or replace)`,
          reader.at(value),
        );
        continue;
      }
      applyRuleKey(reader, existing, key, value, mode);
    }
    return;
  }
  if (existing !== undefined && existing.at.file === itemAt.file)
    reader.bag.warning(
      'DUPLICATE',
      `rule '${name.value}' is defined again in the same file; the later definition wins`,
      name.at,
    );
  const rule: RawRule = {
    name: name.value,
    at: name.at,
    id: undefined,
    description: '',
    condition: undefined,
    conditionAt: undefined,
    output: undefined,
    severity: undefined,
    mitre: [],
    tags: [],
    enabled: true,
    exceptions: [],
    fields: [],
    correlation: undefined,
    source: undefined,
  };
  for (const [key, { value }] of entries) {
    if (key === 'rule') continue;
    applyRuleKey(reader, rule, key, value, 'replace');
  }
  if (only('condition') === undefined && rule.correlation?.kind !== 'sequence')
    reader.bag.error('MISSING_KEY', `rule '${name.value}' has no 'condition'`, itemAt);
  if (rule.correlation?.kind === 'sequence' && only('condition') !== undefined)
    reader.bag.error(
      'BAD_VALUE',
      `rule '${name.value}' is a sequence: put conditions in its steps`,
      reader.at(only('condition')),
    );
  collection.rules.delete(name.value);
  collection.rules.set(name.value, rule);
}

function applyRuleKey(
  reader: FileReader,
  rule: RawRule,
  key: string,
  value: Node | null,
  mode: 'append' | 'replace',
): void {
  switch (key) {
    case 'id':
      rule.id = reader.string(value, key);
      return;
    case 'desc':
    case 'description':
      rule.description = reader.string(value, key)?.value ?? '';
      return;
    case 'condition': {
      const source = reader.source(value, key);
      if (source === undefined) return;
      rule.condition =
        mode === 'append' && rule.condition !== undefined
          ? joinSources(rule.condition, ' ', source)
          : source;
      rule.conditionAt ??= reader.at(value);
      return;
    }
    case 'output':
      rule.output = reader.string(value, key);
      return;
    case 'priority':
    case 'severity':
      rule.severity = reader.string(value, key);
      return;
    case 'tags':
      rule.tags =
        mode === 'append'
          ? [...rule.tags, ...reader.stringList(value, key)]
          : reader.stringList(value, key);
      return;
    case 'mitre':
      rule.mitre =
        mode === 'append'
          ? [...rule.mitre, ...reader.stringList(value, key)]
          : reader.stringList(value, key);
      return;
    case 'fields':
      rule.fields =
        mode === 'append'
          ? [...rule.fields, ...reader.stringList(value, key)]
          : reader.stringList(value, key);
      return;
    case 'enabled': {
      const enabled = reader.boolean(value, key);
      if (enabled !== undefined) rule.enabled = enabled;
      return;
    }
    case 'exceptions': {
      const exceptions = collectExceptions(reader, value);
      rule.exceptions = mode === 'append' ? [...rule.exceptions, ...exceptions] : exceptions;
      return;
    }
    case 'sequence':
    case 'threshold':
      rule.correlation = collectCorrelation(reader, key, value);
      return;
    case 'source':
      rule.source = reader.string(value, key)?.value;
      return;
    default:
      return;
  }
}

function collectMacro(
  reader: FileReader,
  entries: Entries,
  itemAt: Location,
  collection: Collection,
): void {
  const name = reader.string(entries.get('macro')!.value, 'macro');
  if (name === undefined) return;
  checkKeys(reader, entries, MACRO_KEYS, 'macro');
  const modes = mergeModes(reader, entries);
  const conditionEntry = entries.get('condition');
  if (conditionEntry === undefined) {
    reader.bag.error('MISSING_KEY', `macro '${name.value}' has no 'condition'`, itemAt);
    return;
  }
  const source = reader.source(conditionEntry.value, 'condition');
  if (source === undefined) return;
  const existing = collection.macros.get(name.value);
  if (modes !== undefined) {
    if (existing === undefined) {
      reader.bag.error(
        'APPEND_UNKNOWN',
        `macro '${name.value}' is appended to but not defined before`,
        name.at,
      );
      return;
    }
    const mode = modes.get('condition') ?? 'replace';
    existing.condition = mode === 'append' ? joinSources(existing.condition, ' ', source) : source;
    return;
  }
  if (existing !== undefined && existing.at.file === itemAt.file)
    reader.bag.warning(
      'DUPLICATE',
      `macro '${name.value}' is defined again in the same file; the later definition wins`,
      name.at,
    );
  collection.macros.set(name.value, { name: name.value, condition: source, at: name.at });
}

function collectList(
  reader: FileReader,
  entries: Entries,
  itemAt: Location,
  collection: Collection,
): void {
  const name = reader.string(entries.get('list')!.value, 'list');
  if (name === undefined) return;
  checkKeys(reader, entries, LIST_KEYS, 'list');
  const modes = mergeModes(reader, entries);
  const itemsEntry = entries.get('items');
  if (itemsEntry === undefined) {
    reader.bag.error('MISSING_KEY', `list '${name.value}' has no 'items'`, itemAt);
    return;
  }
  const items =
    itemsEntry.value === null || (isSeq(itemsEntry.value) && itemsEntry.value.items.length === 0)
      ? []
      : reader.literals(itemsEntry.value, 'items');
  const existing = collection.lists.get(name.value);
  if (modes !== undefined) {
    if (existing === undefined) {
      reader.bag.error(
        'APPEND_UNKNOWN',
        `list '${name.value}' is appended to but not defined before`,
        name.at,
      );
      return;
    }
    existing.items =
      (modes.get('items') ?? 'replace') === 'append' ? [...existing.items, ...items] : items;
    return;
  }
  if (existing !== undefined && existing.at.file === itemAt.file)
    reader.bag.warning(
      'DUPLICATE',
      `list '${name.value}' is defined again in the same file; the later definition wins`,
      name.at,
    );
  collection.lists.set(name.value, { name: name.value, items, at: name.at });
}

export function emptyCollection(): Collection {
  return { rules: new Map(), macros: new Map(), lists: new Map() };
}

/** Collects one file into `collection` (files are applied in the order given). */
export function collectFile(input: RuleFile, collection: Collection, bag: DiagnosticBag): void {
  const reader = new FileReader(input.file, input.text, bag);
  const { documents } = reader.parse();
  for (const document of documents) {
    if (document.errors.length > 0) {
      for (const error of document.errors)
        bag.error(
          'YAML_SYNTAX',
          error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
          reader.locate(error.pos[0]),
        );
      continue;
    }
    const contents = document.contents as Node | null;
    if (contents === null) continue;
    if (!isSeq(contents)) {
      bag.error(
        'BAD_ITEM',
        'a rule file is a YAML list of rules, macros and lists',
        reader.at(contents),
      );
      continue;
    }
    for (const item of contents.items as Node[]) {
      if (!isMap(item)) {
        bag.error(
          'BAD_ITEM',
          'each item must be a mapping with rule, macro or list',
          reader.at(item),
        );
        continue;
      }
      const entries = reader.entries(item);
      const at = reader.at(item);
      if (entries.has('rule')) collectRule(reader, entries, at, collection);
      else if (entries.has('macro')) collectMacro(reader, entries, at, collection);
      else if (entries.has('list')) collectList(reader, entries, at, collection);
      else if ([...entries.keys()].some((key) => IGNORED_ITEMS.has(key))) continue;
      else bag.error('BAD_ITEM', 'an item must have a rule, macro or list key', at);
    }
  }
}
