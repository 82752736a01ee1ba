import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SinkError } from '../errors.js';
import { memoryLog } from '../log.js';
import { syntheticFinding } from '../test-support/findings.js';
import type { DeliveryOutcome, Destination, EncodedFinding } from '../types.js';
import { createFanout } from './fanout.js';
import { loadMetrics } from './metrics-file.js';
import { createQueuedSink } from './queued-sink.js';

/** A destination whose answers the test scripts: each send() takes the next behaviour. */
function scriptedDestination(name = 'scripted') {
  const received: string[] = [];
  const script: ((batch: readonly EncodedFinding[]) => DeliveryOutcome | Error)[] = [];
  const destination: Destination & { received: string[]; script: typeof script; sends: number } = {
    name,
    received,
    script,
    sends: 0,
    encode: (finding) => ({ id: finding.id, body: JSON.stringify({ id: finding.id }) }),
    async send(batch) {
      destination.sends += 1;
      const behaviour = script.shift();
      const outcome = behaviour ? behaviour(batch) : { retry: [], rejected: [] };
      if (outcome instanceof Error) throw outcome;
      const failed = new Set([...outcome.retry, ...outcome.rejected].map((item) => item.index));
      batch.forEach((record, index) => {
        if (!failed.has(index)) received.push(record.id);
      });
      return outcome;
    },
    async close() {},
  };
  return destination;
}

let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'ringside-sink-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

const findings = (count: number, from = 0) =>
  Array.from({ length: count }, (_, n) => syntheticFinding(from + n));
const fast = { baseMs: 5, maxMs: 20 };

describe('createQueuedSink', () => {
  it('delivers every finding once and empties the queue', async () => {
    const destination = scriptedDestination();
    const sink = await createQueuedSink({
      destination,
      queue: { directory },
      batchSize: 100,
      log: memoryLog(),
    });
    const all = findings(1000);
    await Promise.all(all.map((finding) => sink.write(finding)));
    expect(await sink.drained(5000)).toBe(true);
    expect(destination.received).toEqual(all.map((finding) => finding.id));
    expect(sink.metrics()).toMatchObject({
      accepted: 1000,
      sent: 1000,
      queued: 0,
      retried: 0,
      health: 'ok',
    });
    await sink.close();
    expect(await loadMetrics(directory)).toMatchObject({
      sink: 'scripted',
      sent: 1000,
      health: 'closed',
    });
  });

  it('retries a batch that failed as a whole, with backoff, until the destination takes it', async () => {
    const destination = scriptedDestination();
    const log = memoryLog();
    destination.script.push(
      () => new SinkError('scripted', 'UNAVAILABLE', 'connection refused'),
      () => new SinkError('scripted', 'THROTTLED', '429'),
    );
    const sink = await createQueuedSink({ destination, queue: { directory }, retry: fast, log });
    await Promise.all(findings(10).map((finding) => sink.write(finding)));
    expect(await sink.drained(5000)).toBe(true);
    expect(destination.received).toHaveLength(10);
    expect(sink.metrics()).toMatchObject({ sent: 10, retried: 20, health: 'ok' });
    expect(sink.metrics().lastError).toContain('429');
    expect(log.lines.some((line) => line.message.includes('delivering again'))).toBe(true);
    await sink.close();
  });

  it('retries only the items that failed and dead-letters the refused ones with their reason', async () => {
    const destination = scriptedDestination();
    destination.script.push(() => ({
      retry: [{ index: 1, reason: 'es_rejected_execution_exception' }],
      rejected: [{ index: 2, reason: 'mapper_parsing_exception: failed to parse [host.name]' }],
    }));
    const sink = await createQueuedSink({
      destination,
      queue: { directory },
      retry: fast,
      log: memoryLog(),
    });
    const all = findings(4);
    await Promise.all(all.map((finding) => sink.write(finding)));
    expect(await sink.drained(5000)).toBe(true);
    expect(destination.received.sort()).toEqual([all[0]!.id, all[1]!.id, all[3]!.id].sort());
    expect(sink.metrics()).toMatchObject({ sent: 3, retried: 1, deadLettered: 1 });
    const deadLetters = readFileSync(join(directory, 'dead-letter.ndjson'), 'utf8')
      .trim()
      .split('\n');
    expect(deadLetters).toHaveLength(1);
    expect(JSON.parse(deadLetters[0]!)).toMatchObject({
      sink: 'scripted',
      id: all[2]!.id,
      reason: 'mapper_parsing_exception: failed to parse [host.name]',
    });
    await sink.close();
  });

  it('keeps undelivered findings on disk across close and delivers them on the next start', async () => {
    const down = scriptedDestination();
    for (let n = 0; n < 1000; n += 1)
      down.script.push(() => new SinkError('scripted', 'UNAVAILABLE', 'down'));
    let sink = await createQueuedSink({
      destination: down,
      queue: { directory },
      retry: fast,
      log: memoryLog(),
    });
    await Promise.all(findings(50).map((finding) => sink.write(finding)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sink.metrics().queued).toBe(50);
    await sink.close();
    expect(down.received).toHaveLength(0);

    const up = scriptedDestination();
    sink = await createQueuedSink({ destination: up, queue: { directory }, log: memoryLog() });
    expect(await sink.drained(5000)).toBe(true);
    expect(up.received).toEqual(findings(50).map((finding) => finding.id));
    await sink.close();
  });

  it('reports failing after repeated refusals and redacts secrets from the recorded error', async () => {
    const destination = scriptedDestination();
    for (let n = 0; n < 1000; n += 1)
      destination.script.push(
        () => new SinkError('scripted', 'REFUSED', 'HTTP 401 for api key s3cr3t-key'),
      );
    const { Redactor } = await import('../redact.js');
    const redactor = new Redactor();
    redactor.add('s3cr3t-key');
    const log = memoryLog();
    const sink = await createQueuedSink({
      destination,
      queue: { directory },
      retry: fast,
      redactor,
      log,
    });
    await sink.write(syntheticFinding(1));
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(sink.metrics().health).toBe('failing');
    expect(sink.metrics().lastError).toBe('sink scripted: HTTP 401 for api key [REDACTED]');
    expect(JSON.stringify(log.lines)).not.toContain('s3cr3t-key');
    await sink.close();
  });
});

describe('createFanout', () => {
  it('keeps delivering to a healthy sink while another is down', async () => {
    const healthy = scriptedDestination('healthy');
    const dead = scriptedDestination('dead');
    for (let n = 0; n < 10_000; n += 1)
      dead.script.push(() => new SinkError('dead', 'UNAVAILABLE', 'refused'));
    const fanout = createFanout(
      [
        await createQueuedSink({
          destination: healthy,
          queue: { directory: join(directory, 'a') },
          log: memoryLog(),
        }),
        await createQueuedSink({
          destination: dead,
          queue: { directory: join(directory, 'b') },
          retry: fast,
          log: memoryLog(),
        }),
      ],
      memoryLog(),
    );
    await Promise.all(findings(200).map((finding) => fanout.write(finding)));
    // Until both settle (a fixed 200 ms was too short on a loaded machine): at most 10 s.
    const settledBy = Date.now() + 10_000;
    const settled = (): boolean => {
      const [a, b] = fanout.all();
      return a?.sent === 200 && b?.health === 'failing';
    };
    while (!settled() && Date.now() < settledBy)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const [a, b] = fanout.all();
    expect(a).toMatchObject({ sink: 'healthy', sent: 200, queued: 0, health: 'ok' });
    expect(b).toMatchObject({ sink: 'dead', sent: 0, queued: 200, health: 'failing' });
    expect(fanout.metrics()).toMatchObject({
      accepted: 400,
      sent: 200,
      queued: 200,
      health: 'failing',
    });
    await fanout.close();
  });

  it('records which sink refused a finding and rejects only when none took it', async () => {
    const log = memoryLog();
    const taken: string[] = [];
    const ok = {
      name: 'ok',
      write: async (finding: { id: string }) => void taken.push(finding.id),
      flush: async () => {},
      close: async () => {},
      metrics: () => ({
        sink: 'ok',
        health: 'ok' as const,
        accepted: 0,
        queued: 0,
        queuedBytes: 0,
        sent: 0,
        retried: 0,
        deadLettered: 0,
        dropped: 0,
      }),
    };
    const full = {
      ...ok,
      name: 'full',
      write: async () => Promise.reject(new SinkError('full', 'QUEUE_FULL', 'queue full')),
    };
    const finding = syntheticFinding(7);
    await createFanout([ok, full], log).write(finding);
    expect(taken).toEqual([finding.id]);
    expect(log.lines[0]).toMatchObject({
      level: 'error',
      fields: { sink: 'full', id: finding.id },
    });
    await expect(createFanout([full], log).write(finding)).rejects.toMatchObject({
      failure: 'QUEUE_FULL',
    });
  });
});
