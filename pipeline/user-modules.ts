// Loads users' own detectors and sinks by path: an ES module whose default export (or `detector` /
// `sink` export) implements the public interface. What is not such a module is bad input naming it.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from '../introspect/errors.js';
import type { DetectorPlugin } from '../plugins/types.js';
import type { Observer } from '../sinks/ecs/document.js';
import type { SinkLog } from '../sinks/log.js';
import type { Sink } from '../sinks/types.js';

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

/** What a sink module's factory gets beside its entry's own options. */
export interface SinkModuleContext {
  /** The entry's name ("module-<index>" unless the file names it). */
  name: string;
  /** The machine running Ringside, for documents that name it. */
  observer: Observer;
  log: SinkLog;
}

/** The default export of a sink module: builds the Sink from the entry's options (all but type and path). */
export type SinkModuleFactory = (
  options: Record<string, unknown>,
  context: SinkModuleContext,
) => Sink | Promise<Sink>;

export function isSink(value: unknown): value is Sink {
  if (typeof value !== 'object' || value === null) return false;
  const sink = value as Partial<Sink>;
  return (
    typeof sink.name === 'string' &&
    typeof sink.write === 'function' &&
    typeof sink.flush === 'function' &&
    typeof sink.close === 'function' &&
    typeof sink.metrics === 'function'
  );
}

/**
 * The sink of a `type: module` entry: loads `path` (relative to `baseDirectory`), calls its default
 * export (or `sink` export) with the entry's other options, and checks that a Sink came back.
 */
export async function loadSinkModule(
  path: string,
  options: Record<string, unknown>,
  context: SinkModuleContext & { baseDirectory?: string },
): Promise<Sink> {
  const { baseDirectory, ...factoryContext } = context;
  const file = resolve(baseDirectory ?? '.', path);
  const module = await importModule(file);
  const factory = module.default ?? module.sink;
  if (typeof factory !== 'function')
    throw new InputError(
      'is not a sink module: its default export must be a function (options, context) => Sink',
      path,
    );
  let sink: unknown;
  try {
    sink = await (factory as SinkModuleFactory)(options, factoryContext);
  } catch (error) {
    throw new InputError(
      `the sink module failed to start: ${error instanceof Error ? error.message : String(error)}`,
      path,
      { cause: error },
    );
  }
  if (!isSink(sink))
    throw new InputError(
      'the sink module returned no Sink (name; write, flush, close, metrics functions)',
      path,
    );
  return sink;
}
