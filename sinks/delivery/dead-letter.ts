// The dead-letter file: findings a destination refused for good (a mapping error, an invalid event),
// one JSON line each with the reason, so that nothing is lost without a record and can be re-sent
// (`ringside sinks redeliver`). Lines are written whole or not at all; a torn line is skipped on read.
import { open, readFile } from 'node:fs/promises';
import type { EncodedFinding } from '../types.js';

export interface DeadLetter {
  time: string;
  sink: string;
  id: string;
  reason: string;
  body: string;
}

/** Appends to one file one at a time (batches in flight may refuse findings at once): see appendWhole. */
const appending = new Map<string, Promise<unknown>>();

/**
 * Appends whole lines or nothing: a write cut short (ENOSPC) is cut off again before the error is
 * thrown, and a torn tail a crash left (no final newline) is closed with a newline first, so that it
 * stays one bad line (skipped and reported by readDeadLetters) instead of swallowing the next letter.
 * Resolves once the lines are on disk (fdatasync): the batch is committed only after that.
 */
async function appendWhole(path: string, text: string): Promise<void> {
  const handle = await open(path, 'a+', 0o600);
  try {
    const { size } = await handle.stat();
    let data = Buffer.from(text);
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) data = Buffer.concat([Buffer.from('\n'), data]);
    }
    try {
      let written = 0;
      while (written < data.length)
        written += (await handle.write(data, written, data.length - written)).bytesWritten;
      await handle.datasync();
    } catch (error) {
      await handle.truncate(size).catch(() => undefined);
      throw error;
    }
  } finally {
    await handle.close();
  }
}

export async function writeDeadLetters(
  path: string,
  sink: string,
  items: readonly { record: EncodedFinding; reason: string }[],
  now = new Date(),
): Promise<void> {
  if (items.length === 0) return;
  const lines = items.map(({ record, reason }) =>
    JSON.stringify({
      time: now.toISOString(),
      sink,
      id: record.id,
      reason,
      body: record.body,
    } satisfies DeadLetter),
  );
  const previous = appending.get(path) ?? Promise.resolve();
  const done = previous
    .catch(() => undefined)
    .then(() => appendWhole(path, `${lines.join('\n')}\n`));
  appending.set(path, done);
  try {
    await done;
  } finally {
    if (appending.get(path) === done) appending.delete(path);
  }
}

/** A line of the file that is not a whole dead letter (a write cut short by a crash or a full disk). */
export interface TornLine {
  /** 1-based line number in the file. */
  line: number;
  bytes: number;
  /** The line itself, kept for a human to look at. */
  text: string;
}

export interface DeadLetterFile {
  letters: DeadLetter[];
  torn: TornLine[];
}

const isDeadLetter = (value: unknown): value is DeadLetter => {
  if (value === null || typeof value !== 'object') return false;
  const letter = value as Record<string, unknown>;
  return ['time', 'sink', 'id', 'reason', 'body'].every((key) => typeof letter[key] === 'string');
};

/** The dead letters of a file's text; a line that is not one whole letter is skipped and reported. */
export function parseDeadLetters(text: string): DeadLetterFile {
  const letters: DeadLetter[] = [];
  const torn: TornLine[] = [];
  const lines = text.split('\n');
  for (const [index, line] of lines.entries()) {
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    if (isDeadLetter(value)) letters.push(value);
    else torn.push({ line: index + 1, bytes: Buffer.byteLength(line), text: line });
  }
  return { letters, torn };
}

/** The dead letters of a file (none when it does not exist). */
export async function readDeadLetters(path: string): Promise<DeadLetterFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { letters: [], torn: [] };
    throw error;
  }
  return parseDeadLetters(text);
}
