// One batch from the queue to the destination: send, dead-letter what is refused for good, retry what
// the destination asks to retry (with backoff) until every finding in the batch is confirmed or refused.
import { SinkError } from '../errors.js';
import type { SinkLog } from '../log.js';
import type { QueueBatch } from '../queue/queue.js';
import type { Redactor } from '../redact.js';
import type { Destination, EncodedFinding } from '../types.js';
import { backoffDelay } from './backoff.js';
import type { BackoffOptions } from './backoff.js';
import { writeDeadLetters } from './dead-letter.js';
import type { DeliveryState } from './delivery-state.js';
import type { RecoveryWatch } from './recovery-watch.js';

export interface BatchDeliveryContext {
  destination: Destination;
  state: DeliveryState;
  log: SinkLog;
  redactor: Redactor;
  deadLetterPath: string;
  retry: BackoffOptions | undefined;
  stop: AbortSignal;
  watch: RecoveryWatch;
}

/** Records refused for good go to the dead-letter file, counted and logged once per batch. */
export async function deadLetter(
  context: BatchDeliveryContext,
  rejected: readonly { record: EncodedFinding; reason: string }[],
): Promise<void> {
  if (rejected.length === 0) return;
  const { destination, state, log, deadLetterPath } = context;
  await writeDeadLetters(deadLetterPath, destination.name, rejected);
  state.counters.deadLettered += rejected.length;
  log.error('sink: findings refused by the destination, written to the dead-letter file', {
    sink: destination.name,
    count: rejected.length,
    file: deadLetterPath,
    firstReason: rejected[0]!.reason,
  });
}

/**
 * Dead-letters, retrying while the file cannot be written (disk full): the batch is not committed before
 * its refused findings are on record. False if stopped first (the batch stays queued).
 */
async function deadLetterUntilWritten(
  context: BatchDeliveryContext,
  rejected: readonly { record: EncodedFinding; reason: string }[],
): Promise<boolean> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await deadLetter(context, rejected);
      return true;
    } catch (error) {
      context.state.failed(
        new SinkError(
          context.destination.name,
          'STORAGE',
          `cannot write the dead-letter file: ${String(error)}`,
          {
            cause: error,
          },
        ),
        attempt,
      );
      if (context.stop.aborted) return false;
      await context.watch.pause(backoffDelay(attempt - 1, context.retry), error);
    }
  }
}

/** The destination (or a proxy before it) refuses the request for its size: split, never retry as is. */
const tooLarge = (error: unknown): boolean => error instanceof SinkError && error.status === 413;

/** Resolves true once the whole batch is confirmed or dead-lettered, false if stopped first. */
export function deliverBatch(batch: QueueBatch, context: BatchDeliveryContext): Promise<boolean> {
  return deliverRecords(batch.records, context);
}

async function deliverRecords(
  records: EncodedFinding[],
  context: BatchDeliveryContext,
): Promise<boolean> {
  const { destination, state, redactor, stop, watch } = context;
  let pending = records;
  let attempt = 0;
  while (pending.length > 0) {
    if (stop.aborted) return false;
    let outcome;
    try {
      outcome = await destination.send(pending);
    } catch (error) {
      if (tooLarge(error)) return splitTooLarge(pending, error, context);
      attempt += 1;
      state.counters.retried += pending.length;
      state.failed(error, attempt);
      await watch.pause(backoffDelay(attempt - 1, context.retry), error);
      continue;
    }
    const current = pending;
    const written = await deadLetterUntilWritten(
      context,
      outcome.rejected.map(({ index, reason }) => ({
        record: current[index]!,
        reason: redactor.redact(reason),
      })),
    );
    if (!written) return false;
    const confirmed = pending.length - outcome.retry.length - outcome.rejected.length;
    state.delivered(confirmed);
    if (confirmed > 0) watch.delivered();
    pending = outcome.retry.map(({ index }) => current[index]!);
    if (pending.length > 0) {
      attempt += 1;
      state.counters.retried += pending.length;
      const error = new Error(`${pending.length} finding(s) to retry: ${outcome.retry[0]!.reason}`);
      state.failed(error, attempt);
      await watch.pause(backoffDelay(attempt - 1, context.retry), error);
    } else state.recovered();
  }
  return true;
}

/** 413: the halves go one after the other (in order); a single finding too large is dead-lettered. */
async function splitTooLarge(
  pending: EncodedFinding[],
  error: unknown,
  context: BatchDeliveryContext,
): Promise<boolean> {
  if (pending.length === 1)
    return deadLetterUntilWritten(context, [
      {
        record: pending[0]!,
        reason: `too large for the destination: ${context.redactor.message(error)}`,
      },
    ]);
  const half = Math.ceil(pending.length / 2);
  context.log.warn('sink: request too large for the destination (413), splitting the batch', {
    sink: context.destination.name,
    findings: pending.length,
    into: [half, pending.length - half],
  });
  return (
    (await deliverRecords(pending.slice(0, half), context)) &&
    deliverRecords(pending.slice(half), context)
  );
}
