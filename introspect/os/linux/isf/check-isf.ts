// Checks an ISF document against what volatility3/schemas/schema-6.x.json requires (keys, kinds,
// patterns, no stray keys) and that every type a descriptor names is defined, which the schema
// cannot say but Volatility needs. Returns the problems found, each with its JSON path.
import type { IsfDocument } from './isf-format.js';
import { exactInteger } from './isf-json.js';

const BASE_KINDS = new Set(['void', 'int', 'float', 'char', 'bool']);
const USER_KINDS = new Set(['struct', 'union', 'class']);
const NIX_KINDS = new Set(['dwarf', 'symtab', 'system-map']);

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isInteger = (value: unknown): boolean => exactInteger(value) !== undefined;

export function checkIsf(
  document: unknown,
  options: { format?: '6.2.0' | '6.3.0' } = {},
): string[] {
  const problems: string[] = [];
  const report = (path: string, message: string): void => {
    if (problems.length < 100) problems.push(`${path}: ${message}`);
  };
  const only = (path: string, value: Json, allowed: string[]): void => {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) report(path, `unexpected key "${key}"`);
    }
  };
  if (!isObject(document)) return ['$: not an object'];
  only('$', document, ['metadata', 'base_types', 'user_types', 'enums', 'symbols']);
  for (const key of ['metadata', 'base_types', 'user_types', 'enums', 'symbols']) {
    if (!isObject(document[key])) report(`$.${key}`, 'missing or not an object');
  }
  if (problems.length > 0) return problems;
  const isf = document as unknown as IsfDocument;

  const metadata = document['metadata'] as Json;
  if (typeof metadata['format'] !== 'string' || !/^6.[0-9]+.[0-9]+$/.test(metadata['format'])) {
    report('$.metadata.format', 'must match 6.x.y');
  }
  const producer = metadata['producer'];
  if (producer !== undefined || options.format === '6.3.0') {
    if (!isObject(producer)) report('$.metadata.producer', 'must be an object');
    else if (
      typeof producer['name'] !== 'string' ||
      typeof producer['version'] !== 'string' ||
      (options.format === '6.3.0' && !/^[0-9]+.[0-9]+.[0-9]+$/.test(producer['version']))
    ) {
      report('$.metadata.producer', 'needs a name and a version x.y.z');
    }
  }
  const os = ['linux', 'mac', 'windows'].filter((key) => key in metadata);
  only('$.metadata', metadata, ['format', 'producer', ...os]);
  if (os.length > 1) report('$.metadata', `names more than one system (${os.join(', ')})`);
  for (const key of ['linux', 'mac']) {
    const nix = metadata[key];
    if (nix === undefined) continue;
    if (!isObject(nix)) {
      report(`$.metadata.${key}`, 'must be an object');
      continue;
    }
    only(`$.metadata.${key}`, nix, ['symbols', 'types']);
    for (const list of ['symbols', 'types']) {
      const items = nix[list];
      if (items === undefined) continue;
      if (!Array.isArray(items)) report(`$.metadata.${key}.${list}`, 'must be an array');
      else
        items.forEach((item: unknown, index) => {
          const path = `$.metadata.${key}.${list}[${index}]`;
          if (!isObject(item)) return report(path, 'must be an object');
          only(path, item, ['kind', 'name', 'hash_type', 'hash_value']);
          if (item['kind'] !== undefined && !NIX_KINDS.has(item['kind'] as string)) {
            report(path, 'kind must be dwarf, symtab or system-map');
          }
        });
    }
  }

  for (const [name, base] of Object.entries(document['base_types'] as Json)) {
    const path = `$.base_types.${name}`;
    if (!isObject(base)) {
      report(path, 'must be an object');
      continue;
    }
    only(path, base, ['size', 'signed', 'kind', 'endian']);
    if (!isInteger(base['size'])) report(path, 'size must be an integer');
    if (typeof base['signed'] !== 'boolean') report(path, 'signed must be a boolean');
    if (!BASE_KINDS.has(base['kind'] as string))
      report(path, `kind ${JSON.stringify(base['kind'])}`);
    if (base['endian'] !== 'little' && base['endian'] !== 'big')
      report(path, 'endian must be little or big');
  }
  for (const required of ['pointer', 'void']) {
    if (!(required in isf.base_types)) report('$.base_types', `lacks "${required}"`);
  }

  // Behind a pointer a name may stay undefined (an opaque type); elsewhere Volatility needs it.
  const descriptor = (
    path: string,
    value: unknown,
    bitfieldInner = false,
    opaque = false,
  ): void => {
    if (!isObject(value)) return report(path, 'type descriptor must be an object');
    const kind = value['kind'];
    const name = value['name'];
    switch (kind) {
      case 'base':
        only(path, value, ['kind', 'name']);
        if (typeof name !== 'string' || (!opaque && !(name in isf.base_types)))
          report(path, `unknown base type ${JSON.stringify(name)}`);
        return;
      case 'struct':
      case 'union':
      case 'class':
        if (bitfieldInner) report(path, 'a bitfield holds a base type or an enum');
        only(path, value, ['kind', 'name']);
        if (typeof name !== 'string' || (!opaque && !(name in isf.user_types)))
          report(path, `unknown user type ${JSON.stringify(name)}`);
        return;
      case 'enum':
        only(path, value, ['kind', 'name']);
        if (typeof name !== 'string' || (!opaque && !(name in isf.enums)))
          report(path, `unknown enum ${JSON.stringify(name)}`);
        return;
      case 'pointer':
        if (bitfieldInner) report(path, 'a bitfield holds a base type or an enum');
        only(path, value, ['kind', 'subtype', 'base']);
        return descriptor(`${path}.subtype`, value['subtype'], false, true);
      case 'array':
        if (bitfieldInner) report(path, 'a bitfield holds a base type or an enum');
        only(path, value, ['kind', 'subtype', 'count']);
        if (!isInteger(value['count'])) report(path, 'count must be an integer');
        return descriptor(`${path}.subtype`, value['subtype'], false, opaque);
      case 'function':
        if (bitfieldInner) report(path, 'a bitfield holds a base type or an enum');
        return only(path, value, ['kind']);
      case 'bitfield':
        if (bitfieldInner) report(path, 'a bitfield holds a base type or an enum');
        only(path, value, ['kind', 'bit_position', 'bit_length', 'type']);
        if (!isInteger(value['bit_position']) || !isInteger(value['bit_length'])) {
          report(path, 'bit_position and bit_length must be integers');
        }
        return descriptor(`${path}.type`, value['type'], true, opaque);
      default:
        report(path, `unknown kind ${JSON.stringify(kind)}`);
    }
  };

  for (const [name, type] of Object.entries(document['user_types'] as Json)) {
    const path = `$.user_types.${name}`;
    if (!isObject(type)) {
      report(path, 'must be an object');
      continue;
    }
    only(path, type, ['kind', 'size', 'fields']);
    if (!USER_KINDS.has(type['kind'] as string))
      report(path, `kind ${JSON.stringify(type['kind'])}`);
    if (!isInteger(type['size'])) report(path, 'size must be an integer');
    if (!isObject(type['fields'])) {
      report(path, 'fields must be an object');
      continue;
    }
    for (const [fieldName, field] of Object.entries(type['fields'])) {
      const fieldPath = `${path}.fields.${fieldName}`;
      if (!isObject(field)) {
        report(fieldPath, 'must be an object');
        continue;
      }
      only(fieldPath, field, ['type', 'offset', 'anonymous']);
      if (!isInteger(field['offset'])) report(fieldPath, 'offset must be an integer');
      if (field['anonymous'] !== undefined && typeof field['anonymous'] !== 'boolean') {
        report(fieldPath, 'anonymous must be a boolean');
      }
      descriptor(`${fieldPath}.type`, field['type']);
    }
  }

  for (const [name, entry] of Object.entries(document['enums'] as Json)) {
    const path = `$.enums.${name}`;
    if (!isObject(entry)) {
      report(path, 'must be an object');
      continue;
    }
    only(path, entry, ['size', 'base', 'constants']);
    if (!isInteger(entry['size'])) report(path, 'size must be an integer');
    if (typeof entry['base'] !== 'string' || !(entry['base'] in isf.base_types)) {
      report(path, `base ${JSON.stringify(entry['base'])} is not a base type`);
    }
    if (!isObject(entry['constants'])) report(path, 'constants must be an object');
    else
      for (const [constant, value] of Object.entries(entry['constants'])) {
        if (!isInteger(value)) report(`${path}.constants.${constant}`, 'must be an integer');
      }
  }

  for (const [name, symbol] of Object.entries(document['symbols'] as Json)) {
    const path = `$.symbols.${name}`;
    if (!isObject(symbol)) {
      report(path, 'must be an object');
      continue;
    }
    only(path, symbol, ['address', 'linkage_name', 'type', 'constant_data']);
    if (!isInteger(symbol['address'])) report(path, 'address must be an integer');
    if (symbol['type'] !== undefined) descriptor(`${path}.type`, symbol['type']);
    const data = symbol['constant_data'];
    if (data !== undefined && (typeof data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(data))) {
      report(path, 'constant_data must be base64');
    }
  }
  return problems;
}
