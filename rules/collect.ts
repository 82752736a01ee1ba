// Pass 1 of the loader: collects the rules, macros and lists of YAML rule files, applying Falco's
// append/override semantics across files in load order. Conditions stay located text here.
import { listItemValue } from './list-items.js';
import { isMap, isScalar, isSeq } from 'yaml';
import type { Node } from 'yaml';
import type { DiagnosticBag } from './diagnostics.js';
import type { RawCorrelation } from './collect-correlation.js';
import { collectCorrelation } from './collect-correlation.js';
import type { RawException } from './collect-exceptions.js';
import { collectExceptions } from './collect-exceptions.js';
import type { SourceText } from './source.js';
import { joinSources } from './source.js';
import type { Literal, Location } from './types.js';
import type { Entries, Located } from './yaml-reader.js';
import { YamlReader } from './yaml-reader.js';

export interface RuleFile {
  file: string;
  text: string;
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
  /** Response actions, as written (checked in load.ts). */
  actions: Located<string>[];
  correlation: RawCorrelation | undefined;
  source: string | undefined;
  /** An error was reported inside its definition (or an append to it): it is not loaded. */
  broken: boolean;
}

export interface RawMacro {
  name: string;
  condition: SourceText;
  at: Location;
  broken: boolean;
}

export interface RawList {
  name: string;
  items: Literal[];
  at: Location;
  broken: boolean;
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
  'actions',
  // Falco keys that only matter to Falco's own runtime: accepted and ignored.
  'warn_evttypes',
  'skip-if-unknown-filter',
  'capture',
  'capture_duration',
]);
const MACRO_KEYS = new Set(['macro', 'condition', 'append', 'override']);
const LIST_KEYS = new Set(['list', 'items', 'append', 'override']);
const IGNORED_ITEMS = new Set(['required_engine_version', 'required_plugin_versions']);
const MERGEABLE = new Set([
  'condition',
  'exceptions',
  'items',
  'tags',
  'mitre',
  'fields',
  'actions',
]);

/** How each key of a redefinition combines with the earlier definition. */
function mergeModes(
  reader: YamlReader,
  entries: Entries,
): Map<string, 'append' | 'replace'> | undefined {
  const modes = new Map<string, 'append' | 'replace'>();
  const override = entries.get('override');
  // `append: false` is Falco's spelling of a plain definition, not an append.
  const append =
    entries.get('append') !== undefined && reader.boolean(entries.get('append')!.value, 'append')
      ? entries.get('append')
      : undefined;
  if (append !== undefined) for (const key of MERGEABLE) modes.set(key, 'append');
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

function collectRule(
  reader: YamlReader,
  entries: Entries,
  itemAt: Location,
  collection: Collection,
): void {
  const nameEntry = entries.get('rule')!;
  const name = reader.string(nameEntry.value, 'rule');
  if (name === undefined) return;
  const before = reader.bag.errorCount;
  reader.checkKeys(entries, RULE_KEYS, 'a rule');
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
    if (reader.bag.errorCount > before) existing.broken = true;
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
    actions: [],
    correlation: undefined,
    source: undefined,
    broken: false,
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
  rule.broken = reader.bag.errorCount > before;
  collection.rules.delete(name.value);
  collection.rules.set(name.value, rule);
}

function applyRuleKey(
  reader: YamlReader,
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
    case 'actions':
      rule.actions =
        mode === 'append'
          ? [...rule.actions, ...reader.stringList(value, key)]
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
  reader: YamlReader,
  entries: Entries,
  itemAt: Location,
  collection: Collection,
): void {
  const name = reader.string(entries.get('macro')!.value, 'macro');
  if (name === undefined) return;
  const before = reader.bag.errorCount;
  reader.checkKeys(entries, MACRO_KEYS, 'a macro');
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
    if (reader.bag.errorCount > before) existing.broken = true;
    return;
  }
  if (existing !== undefined && existing.at.file === itemAt.file)
    reader.bag.warning(
      'DUPLICATE',
      `macro '${name.value}' is defined again in the same file; the later definition wins`,
      name.at,
    );
  collection.macros.set(name.value, {
    name: name.value,
    condition: source,
    at: name.at,
    broken: reader.bag.errorCount > before,
  });
}

function collectList(
  reader: YamlReader,
  entries: Entries,
  itemAt: Location,
  collection: Collection,
): void {
  const name = reader.string(entries.get('list')!.value, 'list');
  if (name === undefined) return;
  const before = reader.bag.errorCount;
  reader.checkKeys(entries, LIST_KEYS, 'a list');
  const modes = mergeModes(reader, entries);
  const itemsEntry = entries.get('items');
  if (itemsEntry === undefined) {
    reader.bag.error('MISSING_KEY', `list '${name.value}' has no 'items'`, itemAt);
    return;
  }
  const items =
    itemsEntry.value === null || (isSeq(itemsEntry.value) && itemsEntry.value.items.length === 0)
      ? []
      : reader
          .literals(itemsEntry.value, 'items')
          .map((item) =>
            item.kind === 'string' ? { ...item, text: listItemValue(item.text) } : item,
          );
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
    if (reader.bag.errorCount > before) existing.broken = true;
    return;
  }
  if (existing !== undefined && existing.at.file === itemAt.file)
    reader.bag.warning(
      'DUPLICATE',
      `list '${name.value}' is defined again in the same file; the later definition wins`,
      name.at,
    );
  collection.lists.set(name.value, {
    name: name.value,
    items,
    at: name.at,
    broken: reader.bag.errorCount > before,
  });
}

export function emptyCollection(): Collection {
  return { rules: new Map(), macros: new Map(), lists: new Map() };
}

/** Collects one file into `collection` (files are applied in the order given). */
export function collectFile(input: RuleFile, collection: Collection, bag: DiagnosticBag): void {
  const reader = new YamlReader(input.file, input.text, bag);
  for (const { contents } of reader.documents()) {
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
