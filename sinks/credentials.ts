// Reads a secret (API key, password, HEC token) from an environment variable or a file, never from
// argv: a command line is visible to every user of the host in /proc/<pid>/cmdline.
import { readFileSync } from 'node:fs';
import { InputError } from '../introspect/errors.js';

/** Where a secret comes from: the name of an environment variable, or a file holding it. */
export type SecretSource = { env: string } | { file: string };

export function readSecret(source: SecretSource, environment = process.env): string {
  if ('env' in source) {
    const value = environment[source.env];
    if (value === undefined || value.trim() === '')
      throw new InputError('environment variable is not set or empty', `$${source.env}`);
    return value.trim();
  }
  let value: string;
  try {
    value = readFileSync(source.file, 'utf8').trim();
  } catch (cause) {
    throw new InputError('cannot read the secret file', source.file, { cause });
  }
  if (value === '') throw new InputError('the secret file is empty', source.file);
  return value;
}
