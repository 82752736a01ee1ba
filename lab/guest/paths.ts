// Where the sample guest's build products and run-time files live: outside the repo, under the user's
// cache ($RINGSIDE_CACHE, else $XDG_CACHE_HOME/ringside, else ~/.cache/ringside).
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../../introspect/errors.js';
import { makeDirectory } from '../../sinks/make-directory.js';

let made: string | undefined;

/**
 * Ringside's cache (sample guests, run directories, snapshots): RINGSIDE_CACHE, or ringside under
 * XDG_CACHE_HOME or ~/.cache. Made at first use one level at a time (Node's recursive mkdir never
 * returns under /proc, and every mkdir below would hang); a path that cannot be made is bad input.
 */
export function cacheRoot(): string {
  const variable = process.env.RINGSIDE_CACHE ? 'RINGSIDE_CACHE' : 'XDG_CACHE_HOME';
  const root =
    process.env.RINGSIDE_CACHE ||
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'ringside');
  if (made !== root) {
    try {
      makeDirectory(root);
    } catch (error) {
      throw new InputError(
        `cannot make the cache directory ${root} (${(error as Error).message})`,
        variable,
      );
    }
    made = root;
  }
  return root;
}

export const guestCacheDir = (): string => join(cacheRoot(), 'guest');
export const runRoot = (): string => join(cacheRoot(), 'run');

/** The sample guest's sources in the repo (works from the TypeScript sources and from dist/). */
export function guestSourceDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const repo = here.includes(`${join('dist', 'lab')}`)
    ? join(here, '..', '..', '..')
    : join(here, '..', '..');
  return join(repo, 'samples', 'guest');
}
