// The trace format: NDJSON, one VmiEvent per line, bigint written as "0x…" strings. Decoding is
// driven by the field catalogue, so an address field comes back as bigint and a bad value names its line.
import { InputError } from '../errors.js';
import type { FieldGroup, VmiEvent } from './event.js';
import { EVENT_TYPES, isEventType } from './event.js';
import { EVENT_FIELDS } from './fields.js';
import { ndjsonLine, toJson } from './json.js';

const FIELD_GROUPS: Readonly<Record<FieldGroup, true>> = {
  vmi: true,
  process: true,
  user: true,
  module: true,
  network: true,
  lifecycle: true,
};
const HEX = /^0x[0-9a-f]+$/i;

/** One event as a line of NDJSON (no newline): bigint as 0x-hex, undefined members left out. */
export const encodeTraceEvent = (event: VmiEvent): string => toJson(event);

/** A whole trace as NDJSON text, one event a line. */
export function encodeTrace(events: Iterable<VmiEvent>): string {
  let text = '';
  for (const event of events) text += ndjsonLine(event);
  return text;
}

function toBigint(value: unknown, where: string, input: string): bigint {
  if (typeof value === 'string' && HEX.test(value)) return BigInt(value);
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  throw new InputError(
    `${where}: expected an address ("0x…"), got ${JSON.stringify(value)}`,
    input,
  );
}

function checkType(value: unknown, type: string, where: string, input: string): void {
  const ok =
    type === 'number'
      ? typeof value === 'number' && Number.isFinite(value)
      : type === 'boolean'
        ? typeof value === 'boolean'
        : type === 'string[]'
          ? Array.isArray(value) && value.every((item) => typeof item === 'string')
          : typeof value === 'string';
  if (!ok) throw new InputError(`${where}: expected ${type}, got ${JSON.stringify(value)}`, input);
}

/** Walks a decoded object and converts the catalogue's address fields to bigint, checking types. */
function decodeFields(
  object: Record<string, unknown>,
  prefix: string,
  where: string,
  input: string,
): void {
  for (const [key, value] of Object.entries(object)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (value === null || value === undefined) {
      delete object[key];
      continue;
    }
    if (path === 'registers') {
      if (typeof value !== 'object' || Array.isArray(value))
        throw new InputError(`${where}: registers must be an object`, input);
      const registers = value as Record<string, unknown>;
      for (const [name, raw] of Object.entries(registers))
        registers[name] = toBigint(raw, `${where}: registers.${name}`, input);
      continue;
    }
    if (path === 'details') continue;
    const definition = EVENT_FIELDS[path];
    if (definition !== undefined) {
      if (definition.type === 'address') object[key] = toBigint(value, `${where}: ${path}`, input);
      else checkType(value, definition.type, `${where}: ${path}`, input);
      continue;
    }
    if (typeof value === 'object' && !Array.isArray(value)) {
      decodeFields(value as Record<string, unknown>, path, where, input);
    }
    // Members the catalogue does not know are kept as they are: traces may carry more than rules see.
  }
}

/**
 * Decodes one NDJSON line into a VmiEvent. `input` names the file and `line` its 1-based line, so
 * that an error reads `trace.ndjson: line 7: vmi.gpa: expected an address`.
 */
export function decodeTraceEvent(text: string, input = 'trace', line = 1): VmiEvent {
  const where = `line ${line}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new InputError(`${where}: not JSON`, input, { cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new InputError(`${where}: an event must be a JSON object`, input);
  const event = parsed as Record<string, unknown>;
  if (!isEventType(event.type))
    throw new InputError(`${where}: unknown event type ${JSON.stringify(event.type)}`, input);
  // A group the type does not carry would be seen by rules but not by the types: refuse it here.
  const carried: readonly string[] = EVENT_TYPES[event.type].groups;
  for (const group of Object.keys(event)) {
    if (!Object.hasOwn(FIELD_GROUPS, group) || event[group] === null) continue;
    if (!carried.includes(group))
      throw new InputError(
        `${where}: a ${event.type} event carries no ${group} (it carries ${carried.join(', ')})`,
        input,
      );
    if (typeof event[group] !== 'object' || Array.isArray(event[group]))
      throw new InputError(`${where}: ${group} must be an object`, input);
  }
  if (typeof event.domain !== 'string')
    throw new InputError(`${where}: the event has no domain`, input);
  if (typeof event.time !== 'number' || !Number.isFinite(event.time))
    throw new InputError(`${where}: the event has no numeric time`, input);
  decodeFields(event, '', where, input);
  return event as unknown as VmiEvent;
}

/** Decodes a whole NDJSON trace; blank lines and lines starting with `#` are skipped. */
export function decodeTrace(text: string, input = 'trace'): VmiEvent[] {
  const events: VmiEvent[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    events.push(decodeTraceEvent(line, input, index + 1));
  }
  return events;
}
