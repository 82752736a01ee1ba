// Sinks from configuration (a YAML/JSON object): one entry per sink, each network sink given its own
// queue directory under one root (the one `ringside status` reads), all fanned out. Secrets are named
// by environment variable or file in the configuration, never written in it.
import { join } from 'node:path';
import { InputError } from '../introspect/errors.js';
import type { SecretSource } from './credentials.js';
import { defaultQueueRoot } from './delivery/status.js';
import { createFanout } from './delivery/fanout.js';
import type { Fanout } from './delivery/fanout.js';
import type { Observer } from './ecs/document.js';
import { createElasticsearchSink } from './elasticsearch/sink.js';
import { createFileSink } from './file/sink.js';
import { DOCUMENT_FORMATS, type DocumentFormat } from './format.js';
import { stderrLog } from './log.js';
import type { SinkLog } from './log.js';
import { createSplunkSink } from './splunk/sink.js';
import { createStdoutSink } from './stdout/sink.js';
import { createSyslogSink } from './syslog/sink.js';
import type { Sink } from './types.js';

export interface SinkConfigEntry {
  type: 'stdout' | 'file' | 'elasticsearch' | 'syslog' | 'splunk';
  /** Names the queue directory and the sink in `ringside status`; default "<type>-<index>". */
  name?: string;
  [option: string]: unknown;
}

export interface SinksSetup {
  observer: Observer;
  /** Root of the queue directories; default defaultQueueRoot(). */
  queueRoot?: string;
  log?: SinkLog;
  /** Where the configuration came from, for error messages. */
  source?: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Checks a secret reference and refuses an inline secret (it would sit in a config file or argv). */
function secret(value: unknown, where: string): SecretSource {
  if (isRecord(value) && typeof value.env === 'string') return { env: value.env };
  if (isRecord(value) && typeof value.file === 'string') return { file: value.file };
  throw new InputError(
    'a secret must be { env: NAME } or { file: PATH }, never the value itself',
    where,
  );
}

export async function createSinksFromConfig(config: unknown, setup: SinksSetup): Promise<Fanout> {
  const source = setup.source ?? 'sinks configuration';
  const entries = isRecord(config) ? config.sinks : config;
  if (!Array.isArray(entries) || entries.length === 0)
    throw new InputError('expected a non-empty list of sinks', source);
  const log = setup.log ?? stderrLog;
  const root = setup.queueRoot ?? defaultQueueRoot();
  const names = new Set<string>();
  const sinks: Sink[] = [];
  try {
    for (const [index, entry] of entries.entries()) {
      const where = `${source}: sinks[${index}]`;
      if (!isRecord(entry) || typeof entry.type !== 'string')
        throw new InputError('each sink needs a type', where);
      const name = typeof entry.name === 'string' ? entry.name : `${entry.type}-${index}`;
      if (!/^[A-Za-z0-9._-]+$/.test(name))
        throw new InputError(`name "${name}" must be letters, digits, . _ -`, where);
      if (names.has(name)) throw new InputError(`two sinks are named "${name}"`, where);
      names.add(name);
      const queue = { ...(isRecord(entry.queue) ? entry.queue : {}), directory: join(root, name) };
      const common = { ...entry, observer: setup.observer, log, queue };
      switch (entry.type) {
        case 'stdout':
          if (
            entry.format !== undefined &&
            !DOCUMENT_FORMATS.includes(entry.format as DocumentFormat)
          )
            throw new InputError(
              `format must be one of ${DOCUMENT_FORMATS.join(', ')}, not ${JSON.stringify(entry.format)}`,
              where,
            );
          sinks.push(
            createStdoutSink({
              observer: setup.observer,
              format: entry.format as DocumentFormat | undefined,
            }),
          );
          break;
        case 'file':
          if (typeof entry.path !== 'string')
            throw new InputError('a file sink needs a path', where);
          sinks.push(
            await createFileSink({
              ...(entry as object),
              path: entry.path,
              observer: setup.observer,
              log,
            }),
          );
          break;
        case 'elasticsearch': {
          if (typeof entry.node !== 'string' && !Array.isArray(entry.node))
            throw new InputError('an elasticsearch sink needs a node URL', where);
          const auth = isRecord(entry.auth)
            ? 'apiKey' in entry.auth
              ? { apiKey: secret(entry.auth.apiKey, `${where}.auth.apiKey`) }
              : {
                  username: String(entry.auth.username),
                  password: secret(entry.auth.password, `${where}.auth.password`),
                }
            : undefined;
          sinks.push(
            await createElasticsearchSink({
              ...common,
              node: entry.node as string | string[],
              auth,
            }),
          );
          break;
        }
        case 'syslog':
          if (typeof entry.host !== 'string' || typeof entry.port !== 'number')
            throw new InputError('a syslog sink needs host and port', where);
          if (!['udp', 'tcp', 'tls'].includes(String(entry.transport)))
            throw new InputError('transport must be udp, tcp or tls', where);
          sinks.push(
            await createSyslogSink({
              ...common,
              host: entry.host,
              port: entry.port,
              transport: entry.transport as 'udp' | 'tcp' | 'tls',
            }),
          );
          break;
        case 'splunk':
          if (typeof entry.url !== 'string')
            throw new InputError('a splunk sink needs a url', where);
          sinks.push(
            await createSplunkSink({
              ...common,
              url: entry.url,
              token: secret(entry.token, `${where}.token`),
            }),
          );
          break;
        default:
          throw new InputError(
            `unknown sink type "${entry.type}" (stdout, file, elasticsearch, syslog, splunk)`,
            where,
          );
      }
    }
  } catch (error) {
    await Promise.allSettled(sinks.map((sink) => sink.close()));
    throw error;
  }
  return createFanout(sinks, log);
}
