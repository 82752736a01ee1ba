// Unit tests of redeliver() with an in-memory destination (the integration test uses the local bulk
// endpoint): each id sent once, refusals and outages put back, an interrupted run resumed.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SinkError } from '../errors.js';
import type { DeliveryOutcome, Destination, EncodedFinding } from '../types.js';
import { readDeadLetters, writeDeadLetters } from './dead-letter.js';
import { redeliver, TORN_FILE } from './redeliver.js';

let directory: string;
let deadLetterPath: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'redeliver-'));
  deadLetterPath = join(directory, 'dead-letter.ndjson');
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

/** A destination that stores bodies by id and counts every copy it received. */
class MemoryDestination implements Destination {
  readonly name = 'memory';
  readonly received: string[] = [];
  down = false;
  refuse = new Set<string>();
  retryOnce = new Set<string>();
  sends = 0;
  encode(): EncodedFinding {
    throw new Error('not used');
  }
  send(batch: readonly EncodedFinding[]): Promise<DeliveryOutcome> {
    this.sends += 1;
    if (this.down)
      return Promise.reject(new SinkError(this.name, 'UNAVAILABLE', 'connect ECONNREFUSED'));
    const outcome: DeliveryOutcome = { retry: [], rejected: [] };
    batch.forEach((record, index) => {
      if (this.refuse.has(record.id)) outcome.rejected.push({ index, reason: 'mapping error' });
      else if (this.retryOnce.delete(record.id)) outcome.retry.push({ index, reason: 'busy' });
      else this.received.push(record.id);
    });
    return Promise.resolve(outcome);
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const letters = (ids: readonly string[], reason = 'first refusal') =>
  ids.map((id) => ({ record: { id, body: `{"id":"${id}"}` }, reason }));
const quick = { retry: { baseMs: 1, maxMs: 2 }, batchSize: 3 };

it('sends each id once (the last letter of a repeated id), then leaves no dead letter', async () => {
  const destination = new MemoryDestination();
  await writeDeadLetters(deadLetterPath, 'memory', letters(['a', 'b', 'c', 'd', 'e']));
  await writeDeadLetters(deadLetterPath, 'memory', letters(['b', 'f']));
  destination.retryOnce.add('c');
  const report = await redeliver({ destination, directory, ...quick });
  expect(report).toMatchObject({ read: 7, duplicates: 1, delivered: 6, unsent: 0, refused: [] });
  expect(destination.received.sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  expect(readdirSync(directory)).toEqual([]);
  const again = await redeliver({ destination, directory, ...quick });
  expect(again).toMatchObject({ read: 0, delivered: 0 });
  expect(destination.received).toHaveLength(6);
});

it('puts findings refused again back, with the new reason, and sends the others', async () => {
  const destination = new MemoryDestination();
  await writeDeadLetters(deadLetterPath, 'memory', letters(['a', 'b', 'c', 'd']));
  destination.refuse.add('b');
  const report = await redeliver({ destination, directory, ...quick });
  expect(report.refused).toEqual([{ id: 'b', reason: 'mapping error' }]);
  expect(report.delivered).toBe(3);
  const file = await readDeadLetters(deadLetterPath);
  expect(file.letters.map((l) => [l.id, l.reason, l.body])).toEqual([
    ['b', 'mapping error', '{"id":"b"}'],
  ]);
});

it('keeps every dead letter, with its reason, while the destination is down, and sends them later', async () => {
  const destination = new MemoryDestination();
  await writeDeadLetters(deadLetterPath, 'memory', letters(['a', 'b', 'c', 'd']));
  destination.down = true;
  const report = await redeliver({ destination, directory, ...quick, attempts: 2 });
  expect(report).toMatchObject({
    delivered: 0,
    unsent: 4,
    lastError: 'sink memory: connect ECONNREFUSED',
  });
  // One batch tried twice, the next not tried once the destination is known down.
  expect(destination.sends).toBe(2);
  const kept = await readDeadLetters(deadLetterPath);
  expect(kept.letters.map((l) => [l.id, l.reason])).toEqual(
    ['a', 'b', 'c', 'd'].map((id) => [id, 'first refusal']),
  );
  destination.down = false;
  expect(await redeliver({ destination, directory, ...quick })).toMatchObject({ delivered: 4 });
  expect(destination.received).toEqual(['a', 'b', 'c', 'd']);
});

it('resumes an interrupted run without sending again what it had delivered', async () => {
  const destination = new MemoryDestination();
  // What a run killed after its first batch leaves: the taken file and the ids confirmed so far.
  await writeDeadLetters(
    join(directory, 'dead-letter.taken-1.ndjson'),
    'memory',
    letters(['a', 'b', 'c', 'd']),
  );
  writeFileSync(join(directory, 'dead-letter.redelivered'), 'a\nb\nc\n');
  // Meanwhile the running sink dead-lettered another finding.
  await writeDeadLetters(deadLetterPath, 'memory', letters(['e']));
  const report = await redeliver({ destination, directory, ...quick });
  expect(report).toMatchObject({ read: 5, alreadyDelivered: 3, delivered: 2 });
  expect(destination.received).toEqual(['d', 'e']);
  expect(readdirSync(directory)).toEqual([]);
});

it('does not send a torn line: it is reported and kept for a human', async () => {
  const destination = new MemoryDestination();
  await writeDeadLetters(deadLetterPath, 'memory', letters(['a']));
  await appendFile(deadLetterPath, '{"time":"2026-');
  await writeDeadLetters(deadLetterPath, 'memory', letters(['b']));
  const report = await redeliver({ destination, directory, ...quick });
  expect(report).toMatchObject({ read: 2, torn: 1, delivered: 2 });
  expect(readFileSync(join(directory, TORN_FILE), 'utf8')).toBe('{"time":"2026-\n');
  expect(existsSync(deadLetterPath)).toBe(false);
});

it('keeps what a running sink appended to the file while it was taken, for the next run', async () => {
  const destination = new MemoryDestination();
  const taken = join(directory, 'dead-letter.taken-1.ndjson');
  await writeDeadLetters(taken, 'memory', letters(['a', 'b']));
  // The sink had opened the file before the rename and writes its letter while the run sends.
  const send = destination.send.bind(destination);
  destination.send = async (batch) => {
    await writeDeadLetters(taken, 'memory', letters(['late']));
    destination.send = send;
    return send(batch);
  };
  const first = await redeliver({ destination, directory, ...quick });
  expect(first).toMatchObject({ delivered: 2, lateArrivals: true });
  const second = await redeliver({ destination, directory, ...quick });
  expect(second).toMatchObject({ alreadyDelivered: 2, delivered: 1 });
  expect(second.lateArrivals).toBeUndefined();
  expect(destination.received).toEqual(['a', 'b', 'late']);
  expect(readdirSync(directory)).toEqual([]);
});
