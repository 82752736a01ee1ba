import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SinkError } from '../errors.js';
import { memoryLog } from '../log.js';
import { DurableQueue } from './queue.js';

const record = (n: number) => ({ id: `id-${n}`, body: `{"n":${n},"pad":"${'x'.repeat(n % 50)}"}` });

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'ringside-queue-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

const segmentBytesOnDisk = () =>
  readdirSync(directory)
    .filter((file) => file.endsWith('.q'))
    .reduce((sum, file) => sum + statSync(join(directory, file)).size, 0);

async function drain(queue: DurableQueue, count: number): Promise<string[]> {
  const ids: string[] = [];
  while (ids.length < count) {
    const batch = await queue.read(37);
    ids.push(...batch.records.map((r) => r.id));
    await queue.commit(batch);
  }
  return ids;
}

describe('DurableQueue', () => {
  it('keeps its files readable by their owner only (findings carry command lines)', async () => {
    const previous = process.umask(0o022);
    try {
      const queueDirectory = join(directory, 'q');
      const queue = await DurableQueue.open({ directory: queueDirectory });
      await queue.append(record(1));
      await queue.commit(await queue.read(10));
      await queue.close();
      const { saveMetrics } = await import('../delivery/metrics-file.js');
      await saveMetrics(queueDirectory, {
        sink: 's',
        health: 'ok',
        accepted: 1,
        queued: 0,
        queuedBytes: 0,
        sent: 1,
        retried: 0,
        deadLettered: 0,
        dropped: 0,
      });
      const { writeDeadLetters } = await import('../delivery/dead-letter.js');
      await writeDeadLetters(join(queueDirectory, 'dead-letter.ndjson'), 's', [
        { record: record(2), reason: 'refused' },
      ]);
      expect(statSync(queueDirectory).mode & 0o777).toBe(0o700);
      const files = readdirSync(queueDirectory);
      expect(files).toEqual(
        expect.arrayContaining(['cursor.json', 'metrics.json', 'dead-letter.ndjson']),
      );
      for (const file of files)
        expect([file, statSync(join(queueDirectory, file)).mode & 0o777]).toEqual([file, 0o600]);
    } finally {
      process.umask(previous);
    }
  });

  it('acknowledges an append only once the record is on disk, syncing appends in groups', async () => {
    const queue = await DurableQueue.open({ directory });
    const appends = Array.from({ length: 1000 }, (_, n) => queue.append(record(n)));
    expect(segmentBytesOnDisk()).toBe(0);
    await Promise.all(appends);
    expect(segmentBytesOnDisk()).toBeGreaterThan(1000 * 20);
    expect(queue.syncs).toBeGreaterThan(0);
    expect(queue.syncs).toBeLessThan(10);
    expect(queue.depth().records).toBe(1000);
    await queue.close();
  });

  it('hands records out in order across segments and deletes delivered segments', async () => {
    const queue = await DurableQueue.open({ directory, segmentBytes: 4096, maxBytes: 1 << 20 });
    // Ten groups: a group is written to one segment, so segments split between groups.
    for (let group = 0; group < 10; group += 1)
      await Promise.all(Array.from({ length: 50 }, (_, n) => queue.append(record(group * 50 + n))));
    expect(readdirSync(directory).filter((f) => f.endsWith('.q')).length).toBeGreaterThan(3);
    const ids = await drain(queue, 500);
    expect(ids).toEqual(Array.from({ length: 500 }, (_, n) => `id-${n}`));
    expect(queue.depth()).toMatchObject({ records: 0, bytes: 0 });
    expect(readdirSync(directory).filter((f) => f.endsWith('.q')).length).toBe(1);
    await queue.close();
  });

  it('hands out bodies as their bytes, which stay intact while later batches are read', async () => {
    const queue = await DurableQueue.open({ directory });
    const unicode = (n: number) => ({
      id: `id-${n}`,
      body: `{"n":${n},"s":"é€😀 ${'y'.repeat(n)}"}`,
    });
    await Promise.all(Array.from({ length: 300 }, (_, n) => queue.append(unicode(n))));
    const first = await queue.read(100);
    const second = await queue.read(100);
    const third = await queue.read(100);
    const batches = [first, second, third];
    batches.forEach((batch, b) =>
      batch.records.forEach((read, index) => {
        const n = b * 100 + index;
        expect(read.id).toBe(`id-${n}`);
        expect(read.bytes?.toString('utf8')).toBe(unicode(n).body);
        expect(read.body).toBe(unicode(n).body);
      }),
    );
    await queue.close();
  });

  it('replays on restart what was not committed, including a batch read but never confirmed', async () => {
    let queue = await DurableQueue.open({ directory, segmentBytes: 4096 });
    await Promise.all(Array.from({ length: 100 }, (_, n) => queue.append(record(n))));
    const first = await queue.read(40);
    await queue.commit(first);
    const unconfirmed = await queue.read(30);
    expect(unconfirmed.records[0]!.id).toBe('id-40');
    await queue.close();

    queue = await DurableQueue.open({ directory, segmentBytes: 4096 });
    expect(queue.depth().records).toBe(60);
    const ids = await drain(queue, 60);
    expect(ids).toEqual(Array.from({ length: 60 }, (_, n) => `id-${n + 40}`));
    await queue.close();
  });

  it('discards a torn record at the tail (never acknowledged) and keeps the rest', async () => {
    let queue = await DurableQueue.open({ directory });
    await Promise.all(Array.from({ length: 10 }, (_, n) => queue.append(record(n))));
    await queue.close();
    const segment = readdirSync(directory).find((f) => f.endsWith('.q'))!;
    // Half a header and part of a payload, as a crash in the middle of a write leaves them.
    appendFileSync(join(directory, segment), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 65, 66]));
    const log = memoryLog();
    queue = await DurableQueue.open({ directory, log });
    expect(queue.depth().records).toBe(10);
    expect(log.lines.some((line) => line.message.includes('torn record'))).toBe(true);
    await queue.append(record(10));
    expect(await drain(queue, 11)).toEqual(Array.from({ length: 11 }, (_, n) => `id-${n}`));
    await queue.close();
  });

  it('applies back-pressure when full and releases it when the sink drains, logging both', async () => {
    const log = memoryLog();
    const queue = await DurableQueue.open({ directory, maxBytes: 20_000, segmentBytes: 4096, log });
    let accepted = 0;
    const writer = (async () => {
      for (let n = 0; n < 2000; n += 100) {
        await Promise.all(Array.from({ length: 100 }, (_, k) => queue.append(record(n + k))));
        accepted += 100;
      }
    })();
    // Until the writer meets the bound (a fixed sleep failed on a loaded machine): at most 10 s.
    const fullBy = Date.now() + 10_000;
    while (!log.lines.some((l) => l.message.includes('back-pressure')) && Date.now() < fullBy)
      await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const acceptedWhileFull = accepted;
    expect(acceptedWhileFull).toBeLessThan(2000);
    expect(queue.depth().bytes).toBeLessThanOrEqual(20_000);
    expect(log.lines.some((l) => l.level === 'warn' && l.message.includes('back-pressure'))).toBe(
      true,
    );
    const ids = await drain(queue, 2000);
    await writer;
    expect(ids).toHaveLength(2000);
    expect(new Set(ids).size).toBe(2000);
    expect(log.lines.some((l) => l.message.includes('back-pressure released'))).toBe(true);
    expect(segmentBytesOnDisk()).toBeLessThanOrEqual(20_000 + 5000);
    await queue.close();
  });

  it('refuses a finding with a logged QUEUE_FULL under drop-newest after the block timeout', async () => {
    const log = memoryLog();
    const queue = await DurableQueue.open({
      directory,
      maxBytes: 5000,
      whenFull: 'drop-newest',
      blockTimeoutMs: 30,
      log,
    });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 200 }, (_, n) => queue.append(record(n))),
    );
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(refused.length).toBeGreaterThan(0);
    const reason = (refused[0] as PromiseRejectedResult).reason as SinkError;
    expect(reason).toBeInstanceOf(SinkError);
    expect(reason.failure).toBe('QUEUE_FULL');
    const dropLines = log.lines.filter((l) => l.message.includes('finding refused'));
    expect(dropLines).toHaveLength(refused.length);
    expect(queue.depth().records).toBe(200 - refused.length);
    await queue.close();
  });

  it('refuses appends after close', async () => {
    const queue = await DurableQueue.open({ directory });
    await queue.close();
    await expect(queue.append(record(1))).rejects.toMatchObject({ failure: 'QUEUE_CLOSED' });
  });
});
