// The sinks of a sinks file (docs/sinks.md), users' own included: `type: module` entries load a
// module whose default export builds a Sink; the built-in types go to createSinksFromConfig.
import { InputError } from '../introspect/errors.js';
import type { Fanout } from '../sinks/delivery/fanout.js';
import { createFanout } from '../sinks/delivery/fanout.js';
import type { SinksSetup } from '../sinks/config.js';
import { stderrLog } from '../sinks/log.js';
import type { Sink } from '../sinks/types.js';
import { loadSinkModule } from './user-modules.js';

export interface ConfiguredSinksSetup extends SinksSetup {
  /** Where a module entry's relative `path` starts (the sinks file's folder); default the working directory. */
  baseDirectory?: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Builds the fan-out of a sinks configuration: each `type: module` entry's sink from its module,
 * the others through createSinksFromConfig (loaded only when there are any: the network sinks'
 * clients are heavy to import). A built-in entry keeps its default name ("<type>-<index>", which
 * names its queue directory) as if the module entries were not taken out.
 */
export async function createConfiguredSinks(
  config: unknown,
  setup: ConfiguredSinksSetup,
): Promise<Fanout> {
  const source = setup.source ?? 'sinks configuration';
  const log = setup.log ?? stderrLog;
  const entries = isRecord(config) ? config.sinks : config;
  if (!Array.isArray(entries) || entries.length === 0)
    throw new InputError('expected a non-empty list of sinks', source);
  const builtIn: unknown[] = [];
  const modules: { entry: Record<string, unknown>; index: number }[] = [];
  for (const [index, entry] of entries.entries()) {
    if (isRecord(entry) && entry.type === 'module') modules.push({ entry, index });
    else if (isRecord(entry) && typeof entry.type === 'string' && entry.name === undefined)
      builtIn.push({ ...entry, name: `${entry.type}-${index}` });
    else builtIn.push(entry);
  }
  if (modules.length === 0) {
    const { createSinksFromConfig } = await import('../sinks/config.js');
    return createSinksFromConfig(config, setup);
  }
  const taken = new Set(
    builtIn.flatMap((entry) =>
      isRecord(entry) && typeof entry.name === 'string' ? [entry.name] : [],
    ),
  );
  const sinks: Sink[] = [];
  try {
    for (const { entry, index } of modules) {
      const where = `${source}: sinks[${index}]`;
      const { type: _type, path, name = `module-${index}`, ...options } = entry;
      if (typeof path !== 'string' || path === '')
        throw new InputError('a module sink needs a path (an ES module file)', where);
      if (typeof name !== 'string' || !/^[A-Za-z0-9._-]+$/.test(name))
        throw new InputError(`name ${JSON.stringify(name)} must be letters, digits, . _ -`, where);
      if (taken.has(name)) throw new InputError(`two sinks are named "${name}"`, where);
      taken.add(name);
      sinks.push(
        await loadSinkModule(path, options, {
          name,
          observer: setup.observer,
          log,
          ...(setup.baseDirectory !== undefined ? { baseDirectory: setup.baseDirectory } : {}),
        }),
      );
    }
    if (builtIn.length > 0) {
      const { createSinksFromConfig } = await import('../sinks/config.js');
      sinks.push(await createSinksFromConfig(builtIn, setup));
    }
  } catch (error) {
    await Promise.allSettled(sinks.map((sink) => sink.close()));
    throw error;
  }
  return createFanout(sinks, log);
}
