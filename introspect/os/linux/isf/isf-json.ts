// JSON text <-> ISF documents with exact 64-bit integers. Kernel addresses exceed 2^53, which
// JSON.parse would round; large integers are read as digit strings and written back digit for digit.
import { InputError } from '../../../errors.js';

/** Integers of 16 digits or more in value position (after `:`, `[` or `,`), not inside strings. */
const LARGE_INTEGER = /([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g;
/** Tags a bigint on its way through JSON.stringify, to be unquoted afterwards. */
const BIGINT_MARK = '\u0000bigint:';

/**
 * Parses ISF JSON text. Integers too large for a double come back as strings of digits (a reviver
 * turning them into bigints would cost a call for each of millions of values); `exactInteger`
 * reads either form.
 */
export function parseIsfJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text.replace(LARGE_INTEGER, '$1"$2"'));
  } catch (error) {
    throw new InputError(`is not valid JSON (${(error as Error).message})`, source, {
      cause: error,
    });
  }
}

/** JSON text of a document that may hold bigints; they are written as plain JSON integers. */
export function stringifyIsfJson(document: unknown, indent?: number): string {
  const text = JSON.stringify(
    document,
    (_key, value: unknown) =>
      typeof value === 'bigint'
        ? Number.isSafeInteger(Number(value))
          ? Number(value)
          : `${BIGINT_MARK}${value}`
        : value,
    indent,
  );
  return text.replace(/"\\u0000bigint:(-?\d+)"/g, '$1');
}

/** An integer read from an ISF value: a safe JSON number, a string of digits, or a bigint. */
export function exactInteger(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) return BigInt(value);
  return undefined;
}
