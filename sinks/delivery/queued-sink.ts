// A network destination behind its own durable queue: write() returns once the finding is on disk; the
// delivery loop (delivery-loop.ts, batch-delivery.ts) sends, retries and dead-letters, and a batch leaves
// the queue only once the destination confirmed every finding in it. This file wires the pieces.
import { join } from 'node:path';
import type { Finding } from '../../introspect/events/finding.js';
import { SinkError } from '../errors.js';
import { stderrLog } from '../log.js';
import type { SinkLog } from '../log.js';
import { DurableQueue } from '../queue/queue.js';
import type { QueueOptions } from '../queue/queue.js';
import { Redactor } from '../redact.js';
import type { Destination, EncodedFinding, Sink, SinkMetrics } from '../types.js';
import type { BackoffOptions } from './backoff.js';
import { deadLetter } from './batch-delivery.js';
import type { BatchDeliveryContext } from './batch-delivery.js';
import { HaltedError, runDeliveryLoop } from './delivery-loop.js';
import { DeliveryState } from './delivery-state.js';
import { saveMetrics } from './metrics-file.js';
import { RecoveryWatch } from './recovery-watch.js';

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
  /** While the destination is unreachable, how often it is probed to resume at once. Default 250 ms. */
  probeIntervalMs?: number;
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

/** Whether `promise` settles within `ms` (its outcome is not needed: errors are recorded elsewhere). */
const settlesWithin = (promise: Promise<unknown>, ms: number): Promise<boolean> =>
  Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref()),
  ]);

/** Waiters for an empty queue (drained()). */
class DrainWaiters {
  private readonly waiters = new Set<() => void>();

  constructor(private readonly queue: DurableQueue) {}

  wake(): void {
    if (this.queue.depth().records === 0) for (const wake of this.waiters) wake();
  }

  async wait(timeoutMs: number): Promise<boolean> {
    if (this.queue.depth().records === 0) return true;
    return new Promise<boolean>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(this.queue.depth().records === 0);
      };
      const timer = setTimeout(wake, timeoutMs);
      this.waiters.add(wake);
    });
  }
}

export async function createQueuedSink(options: QueuedSinkOptions): Promise<QueuedSink> {
  const { destination } = options;
  const name = destination.name;
  const log = options.log ?? stderrLog;
  const redactor = options.redactor ?? new Redactor();
  const directory = options.queue.directory;
  const queue = await DurableQueue.open({ ...options.queue, name, log });
  const state = new DeliveryState(name, log, redactor, options.failingAfter ?? 5);
  const stop = new AbortController();
  const drain = new DrainWaiters(queue);
  const context: BatchDeliveryContext = {
    destination,
    state,
    log,
    redactor,
    deadLetterPath: join(directory, 'dead-letter.ndjson'),
    retry: options.retry,
    stop: stop.signal,
    watch: new RecoveryWatch(destination, stop.signal, options.probeIntervalMs),
  };
  const loop = runDeliveryLoop(context, {
    queue,
    batchSize: options.batchSize ?? 2000,
    batchBytes: options.batchBytes ?? 8 << 20,
    concurrency: options.concurrency ?? 2,
    onCommit: () => drain.wake(),
  }).catch((error: unknown) => {
    if (!(error instanceof HaltedError)) state.stopped(error);
  });

  const metrics = (): SinkMetrics => state.snapshot(queue.depth());
  const persist = (): Promise<void> =>
    saveMetrics(directory, metrics()).catch((error: unknown) =>
      log.warn('sink: cannot save metrics', { sink: name, error: redactor.message(error) }),
    );
  const metricsTimer = setInterval(() => void persist(), options.metricsIntervalMs ?? 1000);
  metricsTimer.unref();
  let closed = false;
  // Appends of one group commit share the queue's promise; they share one promise here too, which
  // counts them all when the group is on disk (no promise, closure or kept finding per write).
  let group: Promise<void> | undefined;
  let groupDone: Promise<void> = Promise.resolve();
  let groupSize = { count: 0 };
  const countGroup = (done: Promise<void>): Promise<void> => {
    const size = { count: 0 };
    groupSize = size;
    return done.then(
      () => state.accepted(size.count),
      (error: unknown) => {
        if (error instanceof SinkError && error.failure !== 'QUEUE_CLOSED')
          state.refused(error, size.count);
        throw error;
      },
    );
  };

  return {
    name,
    directory,
    write(finding: Finding): Promise<void> {
      if (closed) return Promise.reject(new SinkError(name, 'QUEUE_CLOSED', 'write after close'));
      let encoded: EncodedFinding;
      try {
        encoded = destination.encode(finding);
      } catch (error) {
        // A finding this sink cannot even encode is recorded, never silently lost.
        const reason = `cannot encode: ${redactor.message(error)}`;
        return deadLetter(context, [
          {
            record: {
              id: finding.id,
              body: JSON.stringify({ id: finding.id, rule: finding.rule }),
            },
            reason,
          },
        ]);
      }
      const done = queue.append(encoded);
      if (done !== group) {
        group = done;
        groupDone = countGroup(done);
      }
      groupSize.count += 1;
      return groupDone;
    },
    flush: () => queue.sync(),
    drained: (timeoutMs = 30_000) => drain.wait(timeoutMs),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const closeTimeoutMs = options.closeTimeoutMs ?? 5000;
      await queue.sync().catch(() => undefined); // a refused sync has already refused its findings
      stop.abort();
      // Never hangs: a batch still in flight after closeTimeoutMs is abandoned (it stays queued), and
      // closing the destination (its sockets) ends that request.
      if (!(await settlesWithin(loop, closeTimeoutMs)))
        log.warn('sink: closing with a batch in flight; it stays queued for the next run', {
          sink: name,
        });
      if (!(await settlesWithin(destination.close(), closeTimeoutMs)))
        log.warn('sink: the destination did not close in time', { sink: name });
      await settlesWithin(loop, closeTimeoutMs);
      clearInterval(metricsTimer);
      state.health = 'closed';
      await queue.close();
      await persist();
    },
    metrics,
  };
}
