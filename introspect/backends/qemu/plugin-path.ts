// Where Ringside's TCG plugin was built: $RINGSIDE_TCG_PLUGIN, else build/ringside-tcg.so in the
// package (`npm run build` builds it with gcc and glib).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RingsideError } from '../../errors.js';

export function pluginPath(): string {
  if (process.env.RINGSIDE_TCG_PLUGIN) return resolve(process.env.RINGSIDE_TCG_PLUGIN);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    const candidate = join(dir, 'build', 'ringside-tcg.so');
    if (existsSync(candidate)) return candidate;
    if (existsSync(join(dir, 'package.json'))) break;
    dir = dirname(dir);
  }
  throw new RingsideError(
    'NOT_FOUND',
    'the Ringside TCG plugin is not built (run `npm run build`, which needs gcc, pkg-config and libglib2.0-dev)',
  );
}
