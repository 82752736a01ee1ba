// Sinks from configuration (a YAML/JSON object): one entry per sink, each network sink given its own
// queue directory under one root (the one `ringside status` reads), all fanned out. The file is checked
// against a schema first (config-schema.ts); secrets are named by env or file, never written in it.
import { accessSync, constants } from 'node:fs';
import { makeDirectory } from './make-directory.js';
import { join } from 'node:path';
import { InputError, RingsideError } from '../introspect/errors.js';
import { validateSinksConfig } from './config-schema.js';
import type { SinkEntry } from './config-schema.js';
import { defaultQueueRoot } from './delivery/status.js';
import { createFanout } from './delivery/fanout.js';
import type { Fanout } from './delivery/fanout.js';
import type { Observer } from './ecs/document.js';
import { createElasticsearchDestination } from './elasticsearch/destination.js';
import { createElasticsearchSink } from './elasticsearch/sink.js';
import { createFileSink } from './file/sink.js';
import { stderrLog } from './log.js';
import type { SinkLog } from './log.js';
import { createSplunkDestination } from './splunk/destination.js';
import { createSplunkSink } from './splunk/sink.js';
import { createStdoutSink } from './stdout/sink.js';
import { createSyslogDestination } from './syslog/destination.js';
import { createSyslogSink } from './syslog/sink.js';
import type { Destination, Sink } from './types.js';

/** One entry of the file, as the schema (config-schema.ts) checked it. */
export type SinkConfigEntry = SinkEntry;

export interface SinksSetup {
  observer: Observer;
  /** Root of the queue directories; default defaultQueueRoot(). */
  queueRoot?: string;
  log?: SinkLog;
  /** Where the configuration came from, for error messages. */
  source?: string;
}

/** The queue directory must be usable now: refusing it later would be an internal error mid-run. */
function checkQueueDirectory(directory: string, where: string): void {
  try {
    makeDirectory(directory, 0o700);
    accessSync(directory, constants.W_OK | constants.X_OK);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new InputError(`cannot use the queue directory ${directory} (${reason})`, where);
  }
}

/** Certificate checks off: said loudly once per sink, since it lets anyone on the path read findings. */
function warnUnverifiedTls(entry: SinkEntry, where: string, log: SinkLog): void {
  if ('tls' in entry && entry.tls?.verify === false)
    log.warn('sinks: tls.verify is false: the destination certificate is NOT checked', {
      sink: where,
    });
}

async function createSink(
  entry: SinkEntry,
  name: string,
  where: string,
  setup: SinksSetup,
  root: string,
  log: SinkLog,
): Promise<Sink> {
  const { observer } = setup;
  if (entry.type === 'stdout') return createStdoutSink({ observer, format: entry.format });
  if (entry.type === 'file') return createFileSink({ ...entry, observer, log });
  const directory = join(root, name);
  checkQueueDirectory(directory, where);
  warnUnverifiedTls(entry, where, log);
  const common = { observer, log, queue: { ...entry.queue, directory } };
  switch (entry.type) {
    case 'elasticsearch':
      return createElasticsearchSink({ ...entry, ...common });
    case 'syslog':
      return createSyslogSink({ ...entry, ...common });
    case 'splunk':
      return createSplunkSink({ ...entry, ...common });
  }
}

export async function createSinksFromConfig(config: unknown, setup: SinksSetup): Promise<Fanout> {
  const source = setup.source ?? 'sinks configuration';
  const entries = validateSinksConfig(config, source);
  const log = setup.log ?? stderrLog;
  const root = setup.queueRoot ?? defaultQueueRoot();
  const names = new Set<string>();
  const sinks: Sink[] = [];
  try {
    for (const [index, entry] of entries.entries()) {
      const where = `${source}: sinks[${index}]`;
      const name = entry.name ?? `${entry.type}-${index}`;
      if (names.has(name)) throw new InputError(`two sinks are named "${name}"`, where);
      names.add(name);
      try {
        sinks.push(await createSink(entry, name, where, setup, root, log));
      } catch (error) {
        // The factories name their own input (a secret, a CA file); anything else is this entry's.
        if (error instanceof RingsideError) throw error;
        const reason = error instanceof Error ? error.message : String(error);
        throw new InputError(reason, where, { cause: error });
      }
    }
  } catch (error) {
    await Promise.allSettled(sinks.map((sink) => sink.close()));
    throw error;
  }
  return createFanout(sinks, log);
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The destination of one network sink of a configuration, found by its name (the `name` key, or
 * "<type>-<index>" as createSinksFromConfig names it), with its queue directory: for re-sending its
 * dead letters without starting the sink itself.
 */
export function createConfiguredDestination(
  config: unknown,
  sinkName: string,
  setup: SinksSetup,
): { destination: Destination; directory: string } {
  const source = setup.source ?? 'sinks configuration';
  const raw = isRecord(config) ? config.sinks : config;
  // Users' module entries (pipeline/configured-sinks.ts) have no queue: a placeholder in their place
  // keeps the indices, hence the default names, of the others.
  const entries = validateSinksConfig(
    Array.isArray(raw)
      ? raw.map((entry: unknown) =>
          isRecord(entry) && entry.type === 'module' ? { type: 'stdout' } : entry,
        )
      : raw,
    source,
  );
  const moduleName = (index: number): string | undefined => {
    const entry: unknown = Array.isArray(raw) ? raw[index] : undefined;
    if (!isRecord(entry) || entry.type !== 'module') return undefined;
    return typeof entry.name === 'string' ? entry.name : `module-${index}`;
  };
  const names = entries.map(
    (entry, index) => moduleName(index) ?? entry.name ?? `${entry.type}-${index}`,
  );
  const index = names.indexOf(sinkName);
  const entry = entries[index];
  if (entry === undefined)
    throw new InputError(`no sink named "${sinkName}" (its sinks: ${names.join(', ')})`, source);
  const where = `${source}: sinks[${index}]`;
  if (moduleName(index) !== undefined)
    throw new InputError(
      `sink "${sinkName}" is a module sink: it keeps its own records, Ringside has no dead letters of it`,
      where,
    );
  if (entry.type === 'stdout' || entry.type === 'file')
    throw new InputError(
      `sink "${sinkName}" has no queue, hence no dead letters (only elasticsearch, splunk and syslog do)`,
      where,
    );
  const log = setup.log ?? stderrLog;
  warnUnverifiedTls(entry, where, log);
  const { observer } = setup;
  const directory = join(setup.queueRoot ?? defaultQueueRoot(), sinkName);
  try {
    switch (entry.type) {
      case 'elasticsearch':
        return { destination: createElasticsearchDestination({ ...entry, observer }), directory };
      case 'splunk':
        return {
          destination: createSplunkDestination({
            ...entry,
            observer,
            warn: (message) => log.warn(`sink: ${message}`),
          }),
          directory,
        };
      case 'syslog':
        return { destination: createSyslogDestination({ ...entry, observer }), directory };
    }
  } catch (error) {
    if (error instanceof RingsideError) throw error;
    throw new InputError(error instanceof Error ? error.message : String(error), where, {
      cause: error,
    });
  }
}
