// The delivery loop of a queued sink: starts the destination (retried while it is down), then keeps up
// to `concurrency` batches in flight and commits them to the queue strictly in order, so that the
// queue's cursor never moves past a finding the destination has not confirmed.
import { SinkError } from '../errors.js';
import { backoffDelay } from './backoff.js';
import { deliverBatch } from './batch-delivery.js';
import type { BatchDeliveryContext } from './batch-delivery.js';
import type { DurableQueue } from '../queue/queue.js';

export interface DeliveryLoopOptions {
  queue: DurableQueue;
  batchSize: number;
  batchBytes: number;
  concurrency: number;
  /** Called after each commit (for drain waiters). */
  onCommit: () => void;
}

/** Free slots for batches in flight; a wait for one also ends when the loop stops. */
class InFlightSlots {
  private used = 0;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly limit: number,
    stop: AbortSignal,
  ) {
    stop.addEventListener('abort', () => this.wakeAll(), { once: true });
  }

  async acquire(stop: AbortSignal): Promise<boolean> {
    while (this.used >= this.limit && !stop.aborted)
      await new Promise<void>((resolve) => this.waiters.add(resolve));
    if (stop.aborted) return false;
    this.used += 1;
    return true;
  }

  release(): void {
    this.used -= 1;
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }
}

/** The loop stopped on purpose (already recorded in the state). */
export class HaltedError extends Error {}

async function startDestination(context: BatchDeliveryContext): Promise<void> {
  const { destination, state, stop } = context;
  if (!destination.start) return;
  for (let attempt = 1; !stop.aborted; attempt += 1) {
    try {
      await destination.start();
      return;
    } catch (error) {
      if (error instanceof SinkError && error.failure === 'MISCONFIGURED') {
        // Retrying cannot help and sending would re-send forever: stop; the queue keeps everything.
        state.stopped(error);
        throw new HaltedError();
      }
      state.failed(error, attempt);
      await context.watch.pause(backoffDelay(attempt - 1, context.retry), error);
    }
  }
}

export async function runDeliveryLoop(
  context: BatchDeliveryContext,
  options: DeliveryLoopOptions,
): Promise<void> {
  const { stop } = context;
  const { queue } = options;
  await startDestination(context);
  const slots = new InFlightSlots(Math.max(1, options.concurrency), stop);
  // Once a batch is abandoned (close), none after it is committed: the cursor never skips a finding.
  let commits: Promise<void> = Promise.resolve();
  let abandoned = false;
  while (!stop.aborted) {
    if (!(await slots.acquire(stop))) break;
    const batch = await queue.read(options.batchSize, options.batchBytes, stop);
    if (batch.records.length === 0) {
      slots.release();
      continue;
    }
    const delivered = deliverBatch(batch, context);
    commits = commits.then(async () => {
      try {
        const ok = await delivered;
        if (!ok) abandoned = true;
        if (!abandoned) await queue.commit(batch);
      } catch (error) {
        // Never an unhandled rejection that would end the process; the next commit moves the cursor.
        context.state.failed(error, 1);
      } finally {
        slots.release();
        options.onCommit();
      }
    });
  }
  await commits;
}
