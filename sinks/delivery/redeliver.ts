// Re-sends a sink's dead letters (`ringside sinks redeliver`): each finding id once, resumable after a
// crash, and whatever is refused again or cannot be sent goes back to the dead-letter file, never lost.
import { readdirSync } from 'node:fs';
import { appendFile, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SinkError } from '../errors.js';
import type { Destination, EncodedFinding } from '../types.js';
import { backoffDelay } from './backoff.js';
import type { BackoffOptions } from './backoff.js';
import { parseDeadLetters, writeDeadLetters } from './dead-letter.js';
import type { DeadLetter } from './dead-letter.js';

export const DEAD_LETTER_FILE = 'dead-letter.ndjson';
/** Dead-letter files taken for a redelivery (renamed, so a running sink appends to a new file). */
const TAKEN = /^dead-letter\.taken-\d+\.ndjson$/;
/** Torn lines found in taken files: kept here for a human, never sent. */
export const TORN_FILE = 'dead-letter.torn';
/** Ids the destination confirmed during a redelivery that has not finished yet (one per line). */
const DONE_FILE = 'dead-letter.redelivered';

export interface RedeliverOptions {
  destination: Destination;
  /** The sink's queue directory (its dead-letter file is there). */
  directory: string;
  /** Findings per request. Default 500. */
  batchSize?: number;
  /** Attempts per batch while the destination asks to retry or is unreachable. Default 5. */
  attempts?: number;
  retry?: BackoffOptions;
  sleep?: (ms: number) => Promise<void>;
}

export interface RedeliverReport {
  /** Dead letters read (whole lines). */
  read: number;
  /** Lines that were not whole dead letters (a torn write): not sent, kept in TORN_FILE. */
  torn: number;
  /** Letters whose id came again later in the file (the last one is sent). */
  duplicates: number;
  /** Ids an interrupted earlier redelivery already had confirmed: not sent again. */
  alreadyDelivered: number;
  /** Findings the destination confirmed now. */
  delivered: number;
  /** Findings refused again: back in the dead-letter file with the new reason. */
  refused: { id: string; reason: string }[];
  /** Findings not sent (destination unreachable, retries exhausted): back in the dead-letter file. */
  unsent: number;
  /** Why findings were left unsent. */
  lastError?: string;
  /** A running sink appended to a file while it was being taken: run again to send those too. */
  lateArrivals?: boolean;
}

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

const describe = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/**
 * Takes the dead-letter file (rename: a sink still running appends to a new one) and returns the taken
 * files in order, those an interrupted run left included.
 */
async function takeDeadLetters(directory: string): Promise<string[]> {
  try {
    await rename(
      join(directory, DEAD_LETTER_FILE),
      join(directory, `dead-letter.taken-${Date.now()}.ndjson`),
    );
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return readdirSync(directory)
    .filter((file) => TAKEN.test(file))
    .sort((a, b) => Number(/\d+/.exec(a)![0]) - Number(/\d+/.exec(b)![0]))
    .map((file) => join(directory, file));
}

async function readDoneIds(path: string): Promise<Set<string>> {
  try {
    return new Set((await readFile(path, 'utf8')).split('\n').filter(Boolean));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw error;
  }
}

/** Records confirmed ids durably before anything else happens, so a crash never re-sends them. */
async function recordDone(path: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const handle = await open(path, 'a', 0o600);
  try {
    await handle.write(`${ids.join('\n')}\n`);
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

interface Pending {
  letter: DeadLetter;
  record: EncodedFinding;
}

export async function redeliver(options: RedeliverOptions): Promise<RedeliverReport> {
  const { destination, directory } = options;
  const batchSize = Math.max(1, options.batchSize ?? 500);
  const attempts = Math.max(1, options.attempts ?? 5);
  const sleep = options.sleep ?? defaultSleep;
  const deadLetterPath = join(directory, DEAD_LETTER_FILE);
  const donePath = join(directory, DONE_FILE);
  const report: RedeliverReport = {
    read: 0,
    torn: 0,
    duplicates: 0,
    alreadyDelivered: 0,
    delivered: 0,
    refused: [],
    unsent: 0,
  };

  const taken = await takeDeadLetters(directory);
  // By id, the last letter wins: a finding dead-lettered twice is sent once, as it was last refused.
  const byId = new Map<string, DeadLetter>();
  const takenBytes = new Map<string, number>();
  for (const file of taken) {
    const bytes = await readFile(file);
    takenBytes.set(file, bytes.length);
    const { letters, torn } = parseDeadLetters(bytes.toString('utf8'));
    if (torn.length > 0) {
      await appendFile(join(directory, TORN_FILE), torn.map((line) => `${line.text}\n`).join(''), {
        mode: 0o600,
      });
      report.torn += torn.length;
    }
    report.read += letters.length;
    for (const letter of letters) {
      if (byId.has(letter.id)) report.duplicates += 1;
      byId.delete(letter.id);
      byId.set(letter.id, letter);
    }
  }
  const done = await readDoneIds(donePath);
  const pending: Pending[] = [];
  for (const letter of byId.values()) {
    if (done.has(letter.id)) report.alreadyDelivered += 1;
    else pending.push({ letter, record: { id: letter.id, body: letter.body } });
  }

  const back: { letter: DeadLetter; reason: string }[] = [];
  let unreachable: string | undefined;
  if (pending.length > 0 && destination.start) {
    try {
      await destination.start();
    } catch (error) {
      unreachable = describe(error);
    }
  }

  /** Sends one batch until confirmed or refused; what is left when it gives up is returned. */
  const send = async (batch: Pending[]): Promise<Pending[]> => {
    for (let attempt = 1; batch.length > 0; attempt += 1) {
      let outcome;
      try {
        outcome = await destination.send(batch.map((item) => item.record));
      } catch (error) {
        if (error instanceof SinkError && error.status === 413 && batch.length > 1) {
          // A body limit: the halves one after the other (a single finding too large is refused).
          const half = Math.ceil(batch.length / 2);
          const left = await send(batch.slice(0, half));
          return left.length > 0 ? [...left, ...batch.slice(half)] : send(batch.slice(half));
        }
        if (attempt >= attempts || (error instanceof SinkError && !error.retryable)) {
          unreachable = describe(error);
          return batch;
        }
        await sleep(backoffDelay(attempt - 1, options.retry));
        continue;
      }
      const again = new Set([...outcome.retry, ...outcome.rejected].map(({ index }) => index));
      const confirmed = batch.filter((_, index) => !again.has(index));
      await recordDone(
        donePath,
        confirmed.map((item) => item.letter.id),
      );
      report.delivered += confirmed.length;
      for (const { index, reason } of outcome.rejected) {
        back.push({ letter: batch[index]!.letter, reason });
        report.refused.push({ id: batch[index]!.letter.id, reason });
      }
      const retry = outcome.retry.map(({ index }) => batch[index]!);
      if (retry.length > 0 && attempt >= attempts) {
        unreachable = `retries exhausted: ${outcome.retry[0]!.reason}`;
        return retry;
      }
      if (retry.length > 0) await sleep(backoffDelay(attempt - 1, options.retry));
      batch = retry;
    }
    return [];
  };

  for (let start = 0; start < pending.length; start += batchSize) {
    const left =
      unreachable === undefined
        ? await send(pending.slice(start, start + batchSize))
        : pending.slice(start, start + batchSize);
    // Not sent: stays a dead letter with its old reason.
    for (const item of left) back.push({ letter: item.letter, reason: item.letter.reason });
    report.unsent += left.length;
  }
  if (report.unsent > 0) report.lastError = unreachable;

  // Back to the dead-letter file first, then the taken files and the confirmed ids go: a crash in
  // between leaves letters twice (one id: sent once) or confirmed ids that are skipped, never a loss.
  for (const sink of new Set(back.map(({ letter }) => letter.sink)))
    await writeDeadLetters(
      deadLetterPath,
      sink,
      back
        .filter(({ letter }) => letter.sink === sink)
        .map(({ letter, reason }) => ({ record: { id: letter.id, body: letter.body }, reason })),
    );
  // A sink that had opened the file just before it was taken may have appended to it since: then keep
  // the taken files and the confirmed ids, so that the next run sends what came late, and only that.
  for (const file of taken)
    if ((await stat(file)).size !== takenBytes.get(file)) report.lateArrivals = true;
  if (report.lateArrivals) return report;
  for (const file of taken) await rm(file, { force: true });
  await rm(donePath, { force: true });
  return report;
}
