// Falco-style rule exceptions read from YAML: named field tuples, their comparison operators and the
// value cases that exempt an event. Each cell is a set of values (one value, or a list for `in`).
import { isMap, isScalar, isSeq } from 'yaml';
import type { Node } from 'yaml';
import type { Literal, Location } from './types.js';
import type { Located, YamlReader } from './yaml-reader.js';

export interface RawException {
  name: string;
  fields: Located<string>[];
  comps: Located<string>[];
  /** One row per case, one cell per field; a cell holds one value, or several (a list, for `in`). */
  values: Literal[][][];
  at: Location;
}

const EXCEPTION_KEYS = new Set(['name', 'fields', 'comps', 'values']);

/** A cell: a list is a value set (kept whole), a scalar is one value. */
function cell(reader: YamlReader, node: Node): Literal[] {
  if (isSeq(node)) return reader.literals(node, 'values');
  const literal = reader.literal(node, 'values');
  return literal === undefined ? [] : [literal];
}

function collectException(reader: YamlReader, item: Node): RawException | undefined {
  if (!isMap(item)) {
    reader.bag.error(
      'BAD_VALUE',
      'an exception must be a mapping with name, fields and values',
      reader.at(item),
    );
    return undefined;
  }
  const entries = reader.entries(item);
  reader.checkKeys(entries, EXCEPTION_KEYS, 'an exception');
  const nameNode = entries.get('name');
  const name = nameNode === undefined ? '' : (reader.string(nameNode.value, 'name')?.value ?? '');
  const fieldsNode = entries.get('fields');
  if (fieldsNode === undefined) {
    reader.bag.error('MISSING_KEY', `exception '${name}' has no 'fields'`, reader.at(item));
    return undefined;
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
  const values: Literal[][][] = [];
  const valuesNode = entries.get('values')?.value;
  if (valuesNode !== undefined && valuesNode !== null) {
    if (!isSeq(valuesNode))
      reader.bag.error('BAD_VALUE', "exception 'values' must be a list", reader.at(valuesNode));
    else
      for (const tuple of valuesNode.items as Node[]) {
        if (single) {
          // With one field, each value is one case (a list for an `in` comparison).
          values.push([cell(reader, tuple)]);
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
        values.push((tuple.items as Node[]).map((node) => cell(reader, node)));
      }
  }
  return { name, fields, comps, values, at: reader.at(item) };
}

export function collectExceptions(reader: YamlReader, node: Node | null): RawException[] {
  if (!isSeq(node)) {
    reader.bag.error('BAD_VALUE', "'exceptions' must be a list", reader.at(node));
    return [];
  }
  const out: RawException[] = [];
  for (const item of node.items as Node[]) {
    const exception = collectException(reader, item);
    if (exception !== undefined) out.push(exception);
  }
  return out;
}
