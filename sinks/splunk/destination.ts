// Splunk HTTP Event Collector as a destination: batched events (each an ECS document) to
// /services/collector/event with token auth; with indexer acknowledgement on, a batch counts as sent only
// once /services/collector/ack says it is indexed. HEC has no idempotent ids: a re-send after a lost
// answer or an ack timeout can index a finding twice (at least once; event.id tells duplicates apart).
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Finding } from '../../introspect/events/finding.js';
import { InputError } from '../../introspect/errors.js';
import { readSecret } from '../credentials.js';
import type { SecretSource } from '../credentials.js';
import { toEcs } from '../ecs/document.js';
import type { Observer } from '../ecs/document.js';
import { SinkError } from '../errors.js';
import { request } from '../http.js';
import { Redactor } from '../redact.js';
import type { DeliveryOutcome, Destination, EncodedFinding } from '../types.js';

export interface SplunkOptions {
  /** Base URL of the collector, e.g. https://splunk.example:8088 (no credentials in it). */
  url: string;
  token: SecretSource;
  index?: string;
  /** Default 'ringside'. */
  source?: string;
  /** Default 'ringside:finding'. */
  sourcetype?: string;
  /** Indexer acknowledgement (the token must have it enabled). Default on. */
  ack?: { enabled?: boolean; pollIntervalMs?: number; timeoutMs?: number };
  /** Channel id for acknowledgements; default a random UUID per process. */
  channel?: string;
  tls?: { caFile?: string; verify?: boolean };
  requestTimeoutMs?: number;
  observer: Observer;
  /** Where a warning goes (the queued sink's log); default nowhere. */
  warn?: (message: string) => void;
}

interface HecAnswer {
  text?: string;
  code?: number;
  ackId?: number;
  'invalid-event-number'?: number;
  acks?: Record<string, boolean>;
}

export interface SplunkDestination extends Destination {
  readonly redactor: Redactor;
}

export function createSplunkDestination(
  options: SplunkOptions,
  environment = process.env,
): SplunkDestination {
  const base = new URL(options.url);
  if (base.username || base.password)
    throw new InputError(
      'credentials in the URL are refused: give the token by env or file',
      `splunk url ${base.host}`,
    );
  const token = readSecret(options.token, environment);
  const redactor = new Redactor();
  redactor.add(token);
  const name = `splunk:${base.host}`;
  const ackEnabled = options.ack?.enabled ?? true;
  const pollIntervalMs = options.ack?.pollIntervalMs ?? 500;
  const ackTimeoutMs = options.ack?.timeoutMs ?? 60_000;
  const channel = options.channel ?? randomUUID();
  let warnedNoAck = false;
  const ca = options.tls?.caFile !== undefined ? readFileSync(options.tls.caFile) : undefined;
  const headers = {
    authorization: `Splunk ${token}`,
    'content-type': 'application/json',
    ...(ackEnabled ? { 'x-splunk-request-channel': channel } : {}),
  };

  const call = async (
    path: string,
    body: string,
  ): Promise<{ status: number; answer: HecAnswer }> => {
    let status: number;
    let text: string;
    try {
      ({ status, text } = await request(new URL(path, base), {
        method: 'POST',
        headers,
        body,
        ca,
        verify: options.tls?.verify,
        timeoutMs: options.requestTimeoutMs,
      }));
    } catch (error) {
      throw new SinkError(name, 'UNAVAILABLE', `request failed: ${redactor.message(error)}`);
    }
    let answer: HecAnswer = {};
    try {
      answer = JSON.parse(text) as HecAnswer;
    } catch {
      answer = { text: text.slice(0, 200) };
    }
    return { status, answer };
  };

  const failure = (status: number, answer: HecAnswer): SinkError => {
    const message = redactor.redact(
      `HEC answered ${status} (code ${answer.code ?? '?'}: ${answer.text ?? ''})`,
    );
    // 503 with code 9 is "server is busy"; 429 is the same from a load balancer.
    if (status === 503 || status === 429)
      return new SinkError(name, 'THROTTLED', message, { status });
    if (status >= 500 || status === 0)
      return new SinkError(name, 'UNAVAILABLE', message, { status });
    return new SinkError(name, 'REFUSED', message, { status });
  };

  const waitForAck = async (ackId: number): Promise<void> => {
    const deadline = Date.now() + ackTimeoutMs;
    const body = JSON.stringify({ acks: [ackId] });
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
      const { status, answer } = await call(
        `/services/collector/ack?channel=${encodeURIComponent(channel)}`,
        body,
      );
      if (status !== 200) throw failure(status, answer);
      if (answer.acks?.[String(ackId)] === true) return;
    }
    throw new SinkError(
      name,
      'UNAVAILABLE',
      `no acknowledgement for ackId ${ackId} within ${ackTimeoutMs} ms; the batch will be sent again`,
    );
  };

  return {
    name,
    redactor,
    /** With acknowledgement on, checks the token has it too (else HEC indexes but never acks: re-sends). */
    async start(): Promise<void> {
      if (!ackEnabled) return;
      const { status, answer } = await call(
        `/services/collector/ack?channel=${encodeURIComponent(channel)}`,
        JSON.stringify({ acks: [0] }),
      );
      if (status === 400 && answer.code === 14)
        throw new SinkError(
          name,
          'MISCONFIGURED',
          'indexer acknowledgement is off for this token but ack.enabled is true: enable it on the token, or set ack.enabled: false',
        );
      if (status !== 200) throw failure(status, answer);
    },
    encode(finding: Finding): EncodedFinding {
      return {
        id: finding.id,
        body: JSON.stringify({
          time: Date.parse(finding.timestamp) / 1000,
          host: finding.host.name,
          source: options.source ?? 'ringside',
          sourcetype: options.sourcetype ?? 'ringside:finding',
          ...(options.index !== undefined ? { index: options.index } : {}),
          event: toEcs(finding, options.observer),
        }),
      };
    },
    async send(batch: readonly EncodedFinding[]): Promise<DeliveryOutcome> {
      const { status, answer } = await call(
        '/services/collector/event',
        batch.map((record) => record.body).join('\n'),
      );
      if (
        status === 400 &&
        answer.code === 6 &&
        typeof answer['invalid-event-number'] === 'number'
      ) {
        // One event is malformed: dead-letter it; the others go again (HEC does not say which were kept).
        const invalid = answer['invalid-event-number'];
        const reason = `HEC code 6: ${answer.text ?? 'invalid data format'}`;
        return {
          rejected: [{ index: invalid, reason }],
          retry: batch.flatMap((_, index) =>
            index === invalid
              ? []
              : [{ index, reason: 'sent again after an invalid event in the batch' }],
          ),
        };
      }
      if (status !== 200 || answer.code !== 0) throw failure(status, answer);
      if (ackEnabled) {
        if (typeof answer.ackId !== 'number') {
          // The token's acknowledgement went off after start (or a balancer reached an indexer without
          // it): HEC took the events ("Success"), so this batch is sent; re-sending it would index it
          // again and again. Said once; delivery goes on as with ack.enabled false.
          if (!warnedNoAck) {
            warnedNoAck = true;
            options.warn?.(
              `${name}: HEC answered Success without an ackId (acknowledgement is off for this token): batches count as sent on HEC's Success, as with ack.enabled: false; enable acknowledgement on the token for indexer confirmation`,
            );
          }
          return { retry: [], rejected: [] };
        }
        await waitForAck(answer.ackId);
      }
      return { retry: [], rejected: [] };
    },
    async close(): Promise<void> {},
  };
}
