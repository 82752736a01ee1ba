// Loads users' own detectors and sinks by path: an ES module whose default export (or `detector` /
// `sink` export) implements the public interface. What is not such a module is bad input naming it.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from '../introspect/errors.js';
import type { DetectorPlugin } from '../plugins/types.js';

async function importModule(path: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (error) {
    throw new InputError(
      `cannot load the module: ${error instanceof Error ? error.message : String(error)}`,
      path,
      { cause: error },
    );
  }
}

export function isDetectorPlugin(value: unknown): value is DetectorPlugin {
  if (typeof value !== 'object' || value === null) return false;
  const { meta, start } = value as Partial<DetectorPlugin>;
  return (
    typeof start === 'function' &&
    typeof meta === 'object' &&
    meta !== null &&
    typeof meta.id === 'string' &&
    Array.isArray(meta.architectures) &&
    Array.isArray(meta.symbols) &&
    Array.isArray(meta.emits) &&
    typeof meta.capabilities === 'object'
  );
}

/** Each path's detector (its default export, or its `detector` export). */
export async function loadPluginModules(paths: readonly string[]): Promise<DetectorPlugin[]> {
  const plugins: DetectorPlugin[] = [];
  for (const path of paths) {
    const module = await importModule(path);
    const candidate = module.default ?? module.detector;
    if (!isDetectorPlugin(candidate))
      throw new InputError(
        'is not a detector: its default export must be a DetectorPlugin (meta with id, architectures, symbols, capabilities, emits; start())',
        path,
      );
    plugins.push(candidate);
  }
  return plugins;
}

export { importModule };
