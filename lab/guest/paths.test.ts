// The cache root is made at first use, one level at a time, and a path that cannot be made is bad
// input naming its variable (Node's recursive mkdir hung every command under /proc).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../introspect/errors.js';
import { cacheRoot } from './paths.js';

describe('cacheRoot', () => {
  const saved = process.env.RINGSIDE_CACHE;
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ringside-cache-'))));
  afterEach(() => {
    if (saved === undefined) delete process.env.RINGSIDE_CACHE;
    else process.env.RINGSIDE_CACHE = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes RINGSIDE_CACHE and its missing parents', () => {
    process.env.RINGSIDE_CACHE = join(dir, 'a', 'b');
    expect(cacheRoot()).toBe(join(dir, 'a', 'b'));
    expect(existsSync(join(dir, 'a', 'b'))).toBe(true);
  });

  it('a cache under /proc is bad input naming RINGSIDE_CACHE, at once', () => {
    process.env.RINGSIDE_CACHE = '/proc/ringside-nowhere/cache';
    expect(() => cacheRoot()).toThrow(InputError);
    expect(() => cacheRoot()).toThrow(
      /cannot make the cache directory \/proc\/ringside-nowhere\/cache/,
    );
  });
});
