// Events and findings as JSON. Guest addresses are bigint and JSON has none, so wherever Ringside
// writes JSON (traces, NDJSON on stdout, sink documents, finding ids, CLI output) a bigint is "0x…".

import { hex } from '../memory/address.js';

/** A bigint as 0x-hex, lower case, no padding: how every address reads in Ringside's output. */
export { hex };

/** Bytes as plain lower-case hex, two digits a byte (written data, code). */
export const hexBytes = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** The JSON.stringify replacer that writes bigints as 0x-hex strings. */
export const bigintAsHex = (_key: string, value: unknown): unknown =>
  typeof value === 'bigint' ? hex(value) : value;

/** JSON text with bigints as 0x-hex; `indent` as JSON.stringify's (none: one line). */
export const toJson = (value: unknown, indent?: number): string =>
  JSON.stringify(value, bigintAsHex, indent);

/** One NDJSON line, with its newline. */
export const ndjsonLine = (value: unknown): string => `${toJson(value)}\n`;

/** A deep copy where bigints are 0x-hex strings and undefined members are left out. */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return hex(value);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(jsonSafe);
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    if (member !== undefined) out[key] = jsonSafe(member);
  }
  return out;
}

/**
 * Canonical JSON: sorted keys, bigint as 0x-hex, so equal content gives equal bytes. Built by one
 * walk with string appends (no entry arrays): finding ids hash it for every finding.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'undefined':
      return 'null';
    case 'bigint':
      return `"${hex(value)}"`;
    case 'object':
      break;
    default:
      return JSON.stringify(value);
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    let text = '[';
    for (let index = 0; index < value.length; index += 1)
      text += index === 0 ? canonicalJson(value[index]) : `,${canonicalJson(value[index])}`;
    return `${text}]`;
  }
  const record = value as Record<string, unknown>;
  // Code-unit order, as the comparison of two keys with `<` gives.
  const keys = Object.keys(record).sort();
  let text = '{';
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    if (text.length > 1) text += ',';
    text += `${JSON.stringify(key)}:${canonicalJson(member)}`;
  }
  return `${text}}`;
}
