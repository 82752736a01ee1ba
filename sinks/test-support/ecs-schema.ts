// Checks an ECS document against the field definitions @elastic/ecs ships (ecs_flat): every field must
// exist (except Ringside's custom ringside.* namespace), have the right type, respect allowed values,
// be an array where ECS says so, and pair event.type with an event.category that expects it.
import { isIP } from 'node:net';
import { EcsFlat } from '@elastic/ecs';

interface FieldDefinition {
  type: string;
  normalize?: readonly string[];
  allowed_values?: readonly { name: string; expected_event_types?: readonly string[] }[];
}

const FIELDS = EcsFlat as unknown as Record<string, FieldDefinition>;

const STRING_TYPES = new Set([
  'keyword',
  'constant_keyword',
  'wildcard',
  'match_only_text',
  'text',
]);
const INTEGER_TYPES = new Set(['long', 'integer', 'short', 'byte', 'unsigned_long']);
const NUMBER_TYPES = new Set(['float', 'double', 'half_float', 'scaled_float']);
const OBJECT_TYPES = new Set(['object', 'flattened', 'nested']);

function checkScalar(path: string, type: string, value: unknown): string | undefined {
  if (STRING_TYPES.has(type))
    return typeof value === 'string' ? undefined : `${path}: not a string`;
  if (INTEGER_TYPES.has(type))
    return Number.isInteger(value) ? undefined : `${path}: not an integer (${String(value)})`;
  if (NUMBER_TYPES.has(type))
    return typeof value === 'number' ? undefined : `${path}: not a number`;
  if (type === 'boolean') return typeof value === 'boolean' ? undefined : `${path}: not a boolean`;
  if (type === 'ip')
    return typeof value === 'string' && isIP(value) ? undefined : `${path}: not an IP`;
  if (type === 'date')
    return typeof value === 'string' && !Number.isNaN(Date.parse(value))
      ? undefined
      : `${path}: not a date`;
  return `${path}: type ${type} not checked by this validator`;
}

/** The problems found in a document; empty when it conforms. */
export function validateEcs(
  document: Record<string, unknown>,
  customPrefix = 'ringside.',
): string[] {
  const problems: string[] = [];
  const values = new Map<string, unknown>();
  const walk = (prefix: string, value: unknown): void => {
    // JSON leaves undefined members out, so they are not part of the document that is sent.
    if (value === undefined || prefix.startsWith(customPrefix)) return;
    const definition = FIELDS[prefix];
    if (
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      (definition === undefined || !OBJECT_TYPES.has(definition.type))
    ) {
      for (const [key, member] of Object.entries(value))
        walk(prefix ? `${prefix}.${key}` : key, member);
      return;
    }
    if (definition === undefined) {
      problems.push(`${prefix}: not an ECS field`);
      return;
    }
    values.set(prefix, value);
    const isArrayField = definition.normalize?.includes('array') ?? false;
    if (Array.isArray(value) && !isArrayField)
      problems.push(`${prefix}: an array where ECS expects one value`);
    if (!Array.isArray(value) && isArrayField) problems.push(`${prefix}: ECS expects an array`);
    const items = Array.isArray(value) ? value : [value];
    for (const item of items) {
      if (OBJECT_TYPES.has(definition.type)) {
        if (item === null || typeof item !== 'object') problems.push(`${prefix}: not an object`);
        continue;
      }
      const problem = checkScalar(prefix, definition.type, item);
      if (problem) problems.push(problem);
      if (definition.allowed_values && !definition.allowed_values.some((a) => a.name === item))
        problems.push(`${prefix}: ${String(item)} is not an allowed value`);
    }
  };
  walk('', document);
  const categories = (values.get('event.category') as string[] | undefined) ?? [];
  const types = (values.get('event.type') as string[] | undefined) ?? [];
  const expected = new Set(
    categories.flatMap(
      (category) =>
        FIELDS['event.category']?.allowed_values?.find((a) => a.name === category)
          ?.expected_event_types ?? [],
    ),
  );
  for (const type of types)
    if (!expected.has(type))
      problems.push(`event.type: ${type} is not expected for categories ${categories.join(',')}`);
  return problems;
}
