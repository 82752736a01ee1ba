// The agent's way out to JetStream: every message is first appended to the sinks' durable queue on
// disk, then published with its id as Nats-Msg-Id and committed only once JetStream acknowledged it.
import type { JetStreamClient } from '@nats-io/jetstream';
import { backoffDelay, type BackoffOptions } from '../../sinks/delivery/backoff.js';
import { silentLog, type SinkLog } from '../../sinks/log.js';
import { DurableQueue } from '../../sinks/queue/queue.js';
import { isBatchSubject } from './event-batch.js';
import { sleepUnlessAborted } from './sleep.js';

export interface OutboxOptions {
  /** The outbox's own directory (the durable queue's segments and cursor). */
  directory: string;
  /** Bound on the bytes buffered on disk; when reached, append() waits (back-pressure). Default 1 GiB. */
  maxBytes?: number;
  /** Messages published concurrently per batch. Default 256. */
  batchSize?: number;
  /** How long one publish waits for JetStream's ack, ms. Default 5000. */
  ackTimeoutMs?: number;
  retry?: BackoffOptions;
  log?: SinkLog;
}

export interface OutboxMetrics {
  /** Messages appended to the disk buffer. */
  appended: number;
  /** Events (a batch counts its events) JetStream acknowledged. */
  published: number;
  /** Events JetStream acknowledged as duplicates of a Nats-Msg-Id it had (a re-send). */
  duplicates: number;
  /** Failed publish attempts (NATS down, no quorum, stream full); each is retried. */
  failures: number;
  queuedRecords: number;
  queuedBytes: number;
  healthy: boolean;
  lastError?: string;
}

/** Events in a message: a batch's lines, or one. */
function eventsIn(subject: string, payload: string): number {
  if (!isBatchSubject(subject)) return 1;
  let lines = 1;
  for (let at = payload.indexOf('\n'); at >= 0; at = payload.indexOf('\n', at + 1)) lines += 1;
  return lines;
}

/** A message's subject travels with it in the queue record: "subject\npayload". */
const encodeBody = (subject: string, payload: string): string => `${subject}\n${payload}`;
function decodeBody(body: string): { subject: string; payload: string } {
  const newline = body.indexOf('\n');
  return { subject: body.slice(0, newline), payload: body.slice(newline + 1) };
}

export class JetStreamOutbox {
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly counts = { appended: 0, published: 0, duplicates: 0, failures: 0 };
  private healthy = true;
  private lastError: string | undefined;

  private constructor(
    private readonly queue: DurableQueue,
    private readonly js: JetStreamClient,
    private readonly options: OutboxOptions,
  ) {}

  static async open(js: JetStreamClient, options: OutboxOptions): Promise<JetStreamOutbox> {
    const queue = await DurableQueue.open({
      directory: options.directory,
      name: 'nats-outbox',
      maxBytes: options.maxBytes ?? 1 << 30,
      log: options.log ?? silentLog,
    });
    const outbox = new JetStreamOutbox(queue, js, options);
    outbox.loop = outbox.run();
    return outbox;
  }

  /** Resolves once the message is on disk (so a crash after this loses nothing). */
  async append(subject: string, id: string, payload: string): Promise<void> {
    await this.queue.append({ id, body: encodeBody(subject, payload) });
    this.counts.appended += 1;
  }

  metrics(): OutboxMetrics {
    const depth = this.queue.depth();
    return {
      ...this.counts,
      queuedRecords: depth.records,
      queuedBytes: depth.bytes,
      healthy: this.healthy,
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  /** Resolves true once nothing is left to publish, false after timeoutMs. */
  async drained(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.depth().records > 0) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  }

  /** Stops publishing; what was not acknowledged stays on disk for the next start. */
  async close(): Promise<void> {
    this.abort.abort();
    await this.loop;
    await this.queue.close();
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    const log = this.options.log ?? silentLog;
    const batchSize = this.options.batchSize ?? 256;
    // Ids of the current batch JetStream already acknowledged: a retried batch skips them, so a
    // re-send happens only after a crash (and then the duplicate window drops it).
    const acknowledged = new Set<string>();
    let attempt = 0;
    while (!signal.aborted) {
      const batch = await this.queue.read(batchSize, 8 << 20, signal);
      if (batch.records.length === 0) continue;
      const results = await Promise.allSettled(
        batch.records.map(async (record) => {
          if (acknowledged.has(record.id)) return;
          const { subject, payload } = decodeBody(record.body);
          const ack = await this.js.publish(subject, payload, {
            msgID: record.id,
            timeout: this.options.ackTimeoutMs ?? 5000,
          });
          acknowledged.add(record.id);
          if (ack.duplicate) this.counts.duplicates += eventsIn(subject, payload);
          else this.counts.published += eventsIn(subject, payload);
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (!failed) {
        await this.queue.commit(batch);
        acknowledged.clear();
        if (!this.healthy)
          log.info('nats: publishing again', { queued: this.queue.depth().records });
        this.healthy = true;
        this.lastError = undefined;
        attempt = 0;
        continue;
      }
      const failures = results.filter((r) => r.status === 'rejected').length;
      this.counts.failures += failures;
      const message =
        failed.reason instanceof Error ? failed.reason.message : String(failed.reason);
      if (this.healthy)
        log.warn('nats: publish failed, buffering on disk and retrying', { error: message });
      this.healthy = false;
      this.lastError = message;
      this.queue.rewind();
      await sleepUnlessAborted(
        backoffDelay(attempt, { baseMs: 100, maxMs: 5000, ...this.options.retry }),
        signal,
      );
      attempt += 1;
    }
  }
}
