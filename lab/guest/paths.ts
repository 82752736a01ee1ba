// Where the sample guest's build products and run-time files live: outside the repo, under the user's
// cache ($RINGSIDE_CACHE, else $XDG_CACHE_HOME/ringside, else ~/.cache/ringside).
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export function cacheRoot(): string {
  if (process.env.RINGSIDE_CACHE) return process.env.RINGSIDE_CACHE;
  const xdg = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(xdg, 'ringside');
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
