// Findings carry guest addresses as bigint; JSON has no bigint. Every sink writes them as 0x-hex
// strings, as canonicalJson does, so an address reads the same in every SIEM.

export const hex = (value: bigint): string => `0x${value.toString(16)}`;

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

/** JSON.stringify that writes bigints as 0x-hex strings. */
export function stringify(value: unknown): string {
  return JSON.stringify(value, (_key, member: unknown) =>
    typeof member === 'bigint' ? hex(member) : member,
  );
}
