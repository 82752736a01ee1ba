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

/** Canonical JSON: sorted keys, bigint as 0x-hex, so equal content gives equal bytes. */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'bigint') return JSON.stringify(hex(value));
  if (typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
