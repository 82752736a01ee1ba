// Delivery after faults, against the local Elasticsearch-speaking server: once the destination returns
// from an outage long enough for the backoff to reach seconds, the backlog flows again within a second
// (a probe wakes every waiting batch); a 413 (a proxy's body limit) splits the batch instead of
// blocking the queue forever.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createElasticsearchSink } from '../elasticsearch/sink.js';
import { FakeElasticsearch } from '../elasticsearch/test-support/fake-elasticsearch.js';
import { memoryLog } from '../log.js';
import { syntheticFinding } from '../test-support/findings.js';

const observer = { hostname: 'hv-test', version: '0.1.0' };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let directory: string;
let server: FakeElasticsearch | undefined;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'sinks-recovery-'));
});
afterEach(async () => {
  await server?.stop();
  rmSync(directory, { recursive: true, force: true });
});

describe('delivery after faults', () => {
  it('resumes within a second of the destination returning, whatever the backoff reached', async () => {
    server = await FakeElasticsearch.start();
    await server.down();
    // The defaults a user gets: backoff from 200 ms up to 30 s, two batches in flight.
    const sink = await createElasticsearchSink({
      node: server.url,
      observer,
      queue: { directory },
      batchSize: 100,
      log: memoryLog(),
    });
    for (let n = 0; n < 1000; n += 1) await sink.write(syntheticFinding(n));
    // 12 s down: each batch's backoff has grown to several seconds.
    await sleep(12_000);
    expect(sink.metrics()).toMatchObject({ sent: 0, health: 'failing' });
    await server.up();
    const back = Date.now();
    // Resumed: the first confirmation (polled every 5 ms). What follows is throughput, which depends on
    // the CPU this shared machine leaves (the whole backlog once took 1.3 s at a load average of 13); the
    // backoff alone would have waited seconds more.
    let resumedMs = Number.NaN;
    const watch = setInterval(() => {
      if (Number.isNaN(resumedMs) && sink.metrics().sent > 0) resumedMs = Date.now() - back;
    }, 5);
    const drained = await sink.drained(20_000);
    clearInterval(watch);
    await sink.close();
    expect(drained).toBe(true);
    expect(server.stored.size).toBe(1000);
    expect(resumedMs).toBeLessThan(1000);
  }, 60_000);

  it('splits a batch a proxy refuses as too large (413) and dead-letters only a finding too large alone', async () => {
    server = await FakeElasticsearch.start({ faults: { maxBodyBytes: 60_000 } });
    const log = memoryLog();
    const sink = await createElasticsearchSink({
      node: server.url,
      observer,
      queue: { directory },
      batchSize: 500,
      retry: { baseMs: 10, maxMs: 50 },
      log,
    });
    await Promise.all(Array.from({ length: 500 }, (_, n) => sink.write(syntheticFinding(n))));
    expect(await sink.drained(20_000)).toBe(true);
    await sink.close();
    expect(server.stored.size).toBe(500);
    expect(server.counts.tooLarge).toBeGreaterThan(0);
    expect(sink.metrics()).toMatchObject({ sent: 500, deadLettered: 0 });
    expect(log.lines.some((line) => line.message.includes('splitting the batch'))).toBe(true);
  }, 60_000);
});
