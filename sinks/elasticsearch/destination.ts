// Findings to an Elasticsearch data stream with the official client: bulk `create` with the finding's
// stable id as _id, so a re-send is a no-op (409 on create means "already stored"); every item's answer
// is classified (stored / retry / dead-letter) and whole-request failures become retryable SinkErrors.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Client } from '@elastic/elasticsearch';
import type { Finding } from '../../introspect/events/finding.js';
import { InputError } from '../../introspect/errors.js';
import { readSecret } from '../credentials.js';
import type { SecretSource } from '../credentials.js';
import { ecsText } from '../ecs/text.js';
import type { Observer } from '../ecs/document.js';
import { SinkError } from '../errors.js';
import { Redactor } from '../redact.js';
import type { DeliveryOutcome, Destination, EncodedFinding } from '../types.js';
import { FINDINGS_TEMPLATE, TEMPLATE_NAME, dataStreamName } from './template.js';

export type ElasticsearchAuth =
  { apiKey: SecretSource } | { username: string; password: SecretSource };

export interface ElasticsearchOptions {
  /** URL(s) of the cluster, e.g. https://es.example:9200. Credentials never go in the URL. */
  node: string | string[];
  /** Data stream namespace: findings go to logs-ringside.findings-<namespace>. Default 'default'. */
  namespace?: string;
  auth?: ElasticsearchAuth;
  tls?: {
    /** PEM file of the CA that signed the cluster's certificate. */
    caFile?: string;
    /** Verify the certificate (default true). Turning it off is logged as a warning by the CLI. */
    verify?: boolean;
  };
  /** Per request, ms. Default 30 000. */
  requestTimeoutMs?: number;
  /** Install the index template and create the data stream on start. Default true. */
  setup?: boolean;
  observer: Observer;
  /** For tests: a Connection class (the @elastic/elasticsearch-mock one). */
  connection?: ClientOptions['Connection'];
}

type ClientOptions = NonNullable<ConstructorParameters<typeof Client>[0]>;
type ElasticClientLibrary = typeof import('@elastic/elasticsearch');

let library: ElasticClientLibrary | undefined;
/**
 * The client library (its CommonJS build), loaded when a destination is made: with undici and
 * OpenTelemetry it is a tenth of a second of every CLI start that never sends to Elasticsearch.
 */
const elastic = (): ElasticClientLibrary =>
  (library ??= createRequire(import.meta.url)('@elastic/elasticsearch') as ElasticClientLibrary);

/** Per-item statuses a later attempt may turn into success. */
const RETRYABLE_ITEM = (status: number): boolean => status === 429 || status >= 500;

/** The client's errors as SinkErrors, with no credential in the message. */
export function classifyError(sink: string, error: unknown, redactor: Redactor): SinkError {
  if (error instanceof SinkError) return error;
  // No client made, no ResponseError: the library is only looked at once it is loaded.
  if (library && error instanceof library.errors.ResponseError) {
    const status = error.statusCode ?? 0;
    const body = error.body as { error?: { type?: string; reason?: string } } | undefined;
    const detail = body?.error?.type
      ? `${body.error.type}: ${body.error.reason ?? ''}`
      : `HTTP ${status}`;
    const message = redactor.redact(`request failed (${status}): ${detail}`);
    if (status === 429) return new SinkError(sink, 'THROTTLED', message, { status });
    if (status >= 500 || status === 0)
      return new SinkError(sink, 'UNAVAILABLE', message, { status });
    return new SinkError(sink, 'REFUSED', message, { status });
  }
  // ConnectionError, TimeoutError, NoLivingConnectionsError, a malformed response: try again later.
  const name = error instanceof Error ? error.name : 'Error';
  return new SinkError(sink, 'UNAVAILABLE', `${name}: ${redactor.message(error)}`);
}

/**
 * The bulk request body: a `create` line with the finding's id before each document. From the
 * queue's bytes when every record has them (copied, never decoded), else from the texts.
 */
export function bulkBody(batch: readonly EncodedFinding[]): Buffer | string {
  const actions = batch.map((record) => `{"create":{"_id":${JSON.stringify(record.id)}}}\n`);
  if (!batch.every((record) => record.bytes !== undefined)) {
    let text = '';
    batch.forEach((record, index) => (text += `${actions[index]!}${record.body}\n`));
    return text;
  }
  let size = 0;
  batch.forEach(
    (record, index) => (size += Buffer.byteLength(actions[index]!) + record.bytes!.length + 1),
  );
  const body = Buffer.allocUnsafe(size);
  let offset = 0;
  batch.forEach((record, index) => {
    offset += body.write(actions[index]!, offset, 'utf8');
    offset += record.bytes!.copy(body, offset);
    body[offset++] = 0x0a;
  });
  return body;
}

interface BulkItem {
  status: number;
  error?: { type?: string; reason?: string };
}

export interface ElasticsearchDestination extends Destination {
  readonly dataStream: string;
  readonly client: Client;
  readonly redactor: Redactor;
}

export function createElasticsearchDestination(
  options: ElasticsearchOptions,
  environment = process.env,
): ElasticsearchDestination {
  const namespace = options.namespace ?? 'default';
  if (!/^[a-z0-9_]+$/.test(namespace) || namespace.length > 100)
    throw new InputError(
      'namespace must be lowercase letters, digits or _',
      `elasticsearch namespace "${namespace}"`,
    );
  const nodes = Array.isArray(options.node) ? options.node : [options.node];
  for (const node of nodes) {
    const url = new URL(node);
    if (url.username || url.password)
      throw new InputError(
        'credentials in the URL are refused: use auth with env or file',
        `elasticsearch node ${url.host}`,
      );
  }
  const redactor = new Redactor();
  let auth: ClientOptions['auth'];
  if (options.auth && 'apiKey' in options.auth) {
    const apiKey = readSecret(options.auth.apiKey, environment);
    redactor.add(apiKey);
    auth = { apiKey };
  } else if (options.auth) {
    const password = readSecret(options.auth.password, environment);
    redactor.addBasic(options.auth.username, password);
    auth = { username: options.auth.username, password };
  }
  const name = `elasticsearch:${nodes.map((node) => new URL(node).host).join(',')}`;
  const client = new (elastic().Client)({
    node: nodes,
    auth,
    // Retries are ours: the client's own would turn a lost response into 409s it does not understand.
    maxRetries: 0,
    // The client's default redaction deep-copies a failed request's metadata, its bulk body with it
    // (a Buffer: one entry per byte, seconds of CPU per failure during an outage). 'remove' drops the
    // headers, options and connection, where credentials are, in constant time; our messages are
    // redacted by our own Redactor anyway.
    redaction: { type: 'remove' },
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    tls:
      options.tls !== undefined
        ? {
            ca: options.tls.caFile !== undefined ? readFileSync(options.tls.caFile) : undefined,
            rejectUnauthorized: options.tls.verify ?? true,
          }
        : undefined,
    ...(options.connection ? { Connection: options.connection } : {}),
  });
  const dataStream = dataStreamName(namespace);

  return {
    name,
    dataStream,
    client,
    redactor,

    async start(): Promise<void> {
      if (options.setup === false) return;
      try {
        await client.indices.putIndexTemplate({ name: TEMPLATE_NAME, ...FINDINGS_TEMPLATE });
        await client.indices.createDataStream({ name: dataStream }, { ignore: [400] });
      } catch (error) {
        throw classifyError(name, error, redactor);
      }
    },

    async probe(): Promise<boolean> {
      try {
        await client.ping({}, { requestTimeout: 1000, maxRetries: 0 });
        return true;
      } catch {
        return false;
      }
    },

    encode(finding: Finding): EncodedFinding {
      return { id: finding.id, body: ecsText(finding, options.observer, namespace) };
    },

    async send(batch: readonly EncodedFinding[]): Promise<DeliveryOutcome> {
      // One NDJSON body, which the client passes through as is: cheaper than letting it concatenate
      // thousands of operations.
      const operations = bulkBody(batch) as unknown as string[];
      let response;
      try {
        response = await client.bulk({ index: dataStream, operations }, { maxRetries: 0 });
      } catch (error) {
        throw classifyError(name, error, redactor);
      }
      const items = response.items as unknown as Record<string, BulkItem>[];
      if (!Array.isArray(items) || items.length !== batch.length)
        throw new SinkError(
          name,
          'UNAVAILABLE',
          `bulk answered ${items?.length ?? 0} items for ${batch.length}`,
        );
      const outcome: DeliveryOutcome = { retry: [], rejected: [] };
      items.forEach((entry, index) => {
        const item = entry.create ?? Object.values(entry)[0];
        if (!item) {
          outcome.retry.push({ index, reason: 'bulk item without an answer' });
          return;
        }
        if (item.status >= 200 && item.status < 300) return;
        // create with an _id that exists: this finding was stored by an earlier attempt.
        if (item.status === 409 && item.error?.type === 'version_conflict_engine_exception') return;
        const reason =
          `${item.status} ${item.error?.type ?? 'error'}: ${item.error?.reason ?? ''}`.trim();
        if (RETRYABLE_ITEM(item.status)) outcome.retry.push({ index, reason });
        else outcome.rejected.push({ index, reason });
      });
      return outcome;
    },

    async close(): Promise<void> {
      await client.close();
    },
  };
}
