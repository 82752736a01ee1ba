// A network destination behind its own durable queue: write() returns once the finding is on disk; a
// delivery loop sends batches, retries with backoff and jitter, dead-letters what is refused for good,
// and removes a batch from the queue only once the destination confirmed every finding in it.
import { join } from 'node:path';
import type { Finding } from '../../introspect/events/finding.js';
import { SinkError } from '../errors.js';
import { stderrLog } from '../log.js';
import type { SinkLog } from '../log.js';
import { DurableQueue } from '../queue/queue.js';
import type { QueueBatch, QueueOptions } from '../queue/queue.js';
import { Redactor } from '../redact.js';
import type { Destination, EncodedFinding, Sink, SinkHealth, SinkMetrics } from '../types.js';
import { backoffDelay } from './backoff.js';
import type { BackoffOptions } from './backoff.js';
import { writeDeadLetters } from './dead-letter.js';
import { saveMetrics } from './metrics-file.js';

export interface QueuedSinkOptions {
  destination: Destination;
  /** The queue of this sink (its directory must be its own). */
  queue: Omit<QueueOptions, 'name' | 'log'>;
  /** Findings per batch sent to the destination. Default 2000. */
  batchSize?: number;
  /** Bytes per batch. Default 8 MiB. */
  batchBytes?: number;
  /** Batches in flight at once (committed in order). Default 2. */
  concurrency?: number;
  retry?: BackoffOptions;
  /** After this many consecutive failures the sink reports 'failing' instead of 'retrying'. Default 5. */
  failingAfter?: number;
  /** How often metrics.json is rewritten, ms. Default 1000. */
  metricsIntervalMs?: number;
  /** How long close() waits for a batch in flight before abandoning it (it stays queued). Default 5000. */
  closeTimeoutMs?: number;
  log?: SinkLog;
  /** Secrets to keep out of logged errors (the destination's credentials). */
  redactor?: Redactor;
}

export interface QueuedSink extends Sink {
  /** Resolves once the queue is empty (everything confirmed or dead-lettered), or after timeoutMs. */
  drained(timeoutMs?: number): Promise<boolean>;
  readonly directory: string;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

export async function createQueuedSink(options: QueuedSinkOptions): Promise<QueuedSink> {
  const { destination } = options;
  const name = destination.name;
  const log = options.log ?? stderrLog;
  const redactor = options.redactor ?? new Redactor();
  const directory = options.queue.directory;
  const deadLetterPath = join(directory, 'dead-letter.ndjson');
  const queue = await DurableQueue.open({ ...options.queue, name, log });
  const batchSize = options.batchSize ?? 2000;
  const batchBytes = options.batchBytes ?? 8 << 20;
  const failingAfter = options.failingAfter ?? 5;
  const concurrency = Math.max(1, options.concurrency ?? 2);
  const stop = new AbortController();
  const slotWaiters = new Set<() => void>();
  const wakeSlotWaiters = (): void => {
    for (const wake of slotWaiters) wake();
    slotWaiters.clear();
  };
  // A wait for a free slot ends on close too.
  stop.signal.addEventListener('abort', wakeSlotWaiters, { once: true });

  const counters = {
    accepted: 0,
    sent: 0,
    retried: 0,
    deadLettered: 0,
    dropped: 0,
  };
  let health: SinkHealth = 'ok';
  let lastError: string | undefined;
  let lastErrorAt: string | undefined;
  let lastSentAt: string | undefined;
  let closed = false;
  const drainWaiters = new Set<() => void>();

  const metrics = (): SinkMetrics => {
    const depth = queue.depth();
    return {
      sink: name,
      health,
      ...counters,
      queued: depth.records,
      queuedBytes: depth.diskBytes,
      ...(lastError !== undefined ? { lastError, lastErrorAt } : {}),
      ...(lastSentAt !== undefined ? { lastSentAt } : {}),
    };
  };

  const fail = (error: unknown, consecutive: number): void => {
    lastError = redactor.message(error);
    lastErrorAt = new Date().toISOString();
    const next: SinkHealth =
      consecutive >= failingAfter || (error instanceof SinkError && error.failure === 'REFUSED')
        ? 'failing'
        : 'retrying';
    if (next !== health || consecutive === 1 || consecutive % 20 === 0)
      log.warn('sink: delivery failed, will retry', {
        sink: name,
        error: lastError,
        attempt: consecutive,
      });
    health = next;
  };

  const deliver = async (batch: QueueBatch): Promise<boolean> => {
    let pending: EncodedFinding[] = batch.records;
    let attempt = 0;
    while (pending.length > 0) {
      if (stop.signal.aborted) return false;
      let outcome;
      try {
        outcome = await destination.send(pending);
      } catch (error) {
        attempt += 1;
        counters.retried += pending.length;
        fail(error, attempt);
        await sleep(backoffDelay(attempt - 1, options.retry), stop.signal);
        continue;
      }
      const rejected = outcome.rejected.map(({ index, reason }) => ({
        record: pending[index]!,
        reason: redactor.redact(reason),
      }));
      if (rejected.length > 0) {
        await writeDeadLetters(deadLetterPath, name, rejected);
        counters.deadLettered += rejected.length;
        log.error('sink: findings refused by the destination, written to the dead-letter file', {
          sink: name,
          count: rejected.length,
          file: deadLetterPath,
          firstReason: rejected[0]!.reason,
        });
      }
      counters.sent += pending.length - outcome.retry.length - outcome.rejected.length;
      lastSentAt = new Date().toISOString();
      pending = outcome.retry.map(({ index }) => pending[index]!);
      if (pending.length > 0) {
        attempt += 1;
        counters.retried += pending.length;
        fail(
          new Error(`${pending.length} finding(s) to retry: ${outcome.retry[0]!.reason}`),
          attempt,
        );
        await sleep(backoffDelay(attempt - 1, options.retry), stop.signal);
      } else if (health !== 'ok') {
        log.info('sink: delivering again', { sink: name });
        health = 'ok';
      }
    }
    return true;
  };

  const run = async (): Promise<void> => {
    if (destination.start) {
      for (let attempt = 1; !stop.signal.aborted; attempt += 1) {
        try {
          await destination.start();
          break;
        } catch (error) {
          fail(error, attempt);
          await sleep(backoffDelay(attempt - 1, options.retry), stop.signal);
        }
      }
    }
    // Up to `concurrency` batches are in flight; they are committed strictly in queue order, and once
    // one is abandoned (close) none after it is committed, so the cursor never skips a finding.
    let inFlight = 0;
    let commits: Promise<void> = Promise.resolve();
    let abandoned = false;
    while (!stop.signal.aborted) {
      while (inFlight >= concurrency && !stop.signal.aborted)
        await new Promise<void>((resolve) => slotWaiters.add(resolve));
      if (stop.signal.aborted) break;
      const batch = await queue.read(batchSize, batchBytes, stop.signal);
      if (batch.records.length === 0) continue;
      inFlight += 1;
      const delivered = deliver(batch);
      commits = commits.then(async () => {
        const ok = await delivered;
        if (!ok) abandoned = true;
        if (!abandoned) await queue.commit(batch);
        inFlight -= 1;
        wakeSlotWaiters();
        if (queue.depth().records === 0) for (const wake of drainWaiters) wake();
      });
    }
    await commits;
  };

  const loop = run().catch((error: unknown) => {
    health = 'failing';
    lastError = redactor.message(error);
    log.error('sink: delivery loop stopped', { sink: name, error: lastError });
  });

  const persist = (): Promise<void> =>
    saveMetrics(directory, metrics()).catch((error: unknown) =>
      log.warn('sink: cannot save metrics', { sink: name, error: redactor.message(error) }),
    );
  const metricsTimer = setInterval(() => void persist(), options.metricsIntervalMs ?? 1000);
  metricsTimer.unref();

  return {
    name,
    directory,
    async write(finding: Finding): Promise<void> {
      if (closed) throw new SinkError(name, 'QUEUE_CLOSED', 'write after close');
      let encoded: EncodedFinding;
      try {
        encoded = destination.encode(finding);
      } catch (error) {
        // A finding this sink cannot even encode is recorded, never silently lost.
        const reason = `cannot encode: ${redactor.message(error)}`;
        await writeDeadLetters(deadLetterPath, name, [
          {
            record: {
              id: finding.id,
              body: JSON.stringify({ id: finding.id, rule: finding.rule }),
            },
            reason,
          },
        ]);
        counters.deadLettered += 1;
        log.error('sink: finding dead-lettered', { sink: name, id: finding.id, reason });
        return;
      }
      try {
        await queue.append(encoded);
      } catch (error) {
        if (error instanceof SinkError && error.failure === 'QUEUE_FULL') counters.dropped += 1;
        throw error;
      }
      counters.accepted += 1;
    },
    flush: () => queue.sync(),
    async drained(timeoutMs = 30_000): Promise<boolean> {
      if (queue.depth().records === 0) return true;
      return new Promise<boolean>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          drainWaiters.delete(wake);
          resolve(queue.depth().records === 0);
        };
        const timer = setTimeout(wake, timeoutMs);
        drainWaiters.add(wake);
      });
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await queue.sync();
      stop.abort();
      const settled = await Promise.race([
        loop.then(() => true),
        new Promise<boolean>((resolve) =>
          setTimeout(() => resolve(false), options.closeTimeoutMs ?? 5000).unref(),
        ),
      ]);
      if (!settled)
        log.warn('sink: closing with a batch in flight; it stays queued for the next run', {
          sink: name,
        });
      await destination.close();
      await loop;
      clearInterval(metricsTimer);
      health = 'closed';
      await queue.close();
      await persist();
    },
    metrics,
  };
}
