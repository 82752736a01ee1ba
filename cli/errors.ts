// How the CLI turns errors into messages and exit codes: bad input is 2, anything else 1.
import { RingsideError } from '../introspect/errors.js';

const INPUT_CODES = new Set(['BAD_INPUT', 'TRUNCATED', 'UNSUPPORTED', 'NOT_FOUND', 'CAPABILITY']);

export function exitCodeFor(error: unknown): number {
  if (error instanceof RingsideError && INPUT_CODES.has(error.code)) return 2;
  return 1;
}

export function formatError(error: unknown): string {
  if (error instanceof RingsideError) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  if (error instanceof Error) return `internal error: ${error.stack ?? error.message}`;
  return `internal error: ${String(error)}`;
}
