import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SinkError } from '../errors.js';
import { memoryLog } from '../log.js';
import { syntheticFinding } from '../test-support/findings.js';
import type { Destination } from '../types.js';
import { createQueuedSink } from './queued-sink.js';
import { writeDeadLetters } from './dead-letter.js';
import { defaultQueueRoot, formatMetrics, formatStatus, readQueueStatus } from './status.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ringside-status-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const destination = (name: string, up: boolean): Destination => ({
  name,
  encode: (finding) => ({ id: finding.id, body: finding.id }),
  send: async () => {
    if (!up) throw new SinkError(name, 'UNAVAILABLE', 'connect ECONNREFUSED 127.0.0.1:9200');
    return { retry: [], rejected: [] };
  },
  close: async () => {},
});

describe('ringside status data', () => {
  it('shows each sink from its queue directory, after the process closed it', async () => {
    const healthy = await createQueuedSink({
      destination: destination('es-a', true),
      queue: { directory: join(root, 'a') },
      log: memoryLog(),
    });
    const down = await createQueuedSink({
      destination: destination('es-b', false),
      queue: { directory: join(root, 'b') },
      retry: { baseMs: 5, maxMs: 10 },
      log: memoryLog(),
    });
    for (let n = 0; n < 30; n += 1) {
      await healthy.write(syntheticFinding(n));
      await down.write(syntheticFinding(n));
    }
    await healthy.drained(5000);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await healthy.close();
    await down.close();

    const rows = await readQueueStatus(root);
    expect(rows.map((row) => [row.metrics?.sink, row.metrics?.sent, row.metrics?.queued])).toEqual([
      ['es-a', 30, 0],
      ['es-b', 0, 30],
    ]);
    expect(rows[1]!.diskBytes).toBeGreaterThan(30 * 32);
    const lines = formatStatus(rows);
    expect(lines[0]).toMatch(
      /^sink\s+health\s+queued\s+on disk\s+sent\s+retried\s+dead-lettered\s+dropped\s+updated$/,
    );
    expect(lines[1]).toMatch(/^es-a\s+closed\s+0\s/);
    expect(lines[2]).toMatch(/^es-b\s+closed\s+30\s/);
    expect(lines[3]).toContain('es-b: last error at');
    expect(lines[3]).toContain('ECONNREFUSED');
  });

  it('never shows "ok" for a process that was killed without closing its sink', async () => {
    const sink = await createQueuedSink({
      destination: destination('es-live', true),
      queue: { directory: join(root, 'live') },
      metricsIntervalMs: 20,
      log: memoryLog(),
    });
    await sink.write(syntheticFinding(1));
    await sink.drained(5000);
    await new Promise((resolve) => setTimeout(resolve, 60));
    // This process runs: its sink is ok.
    expect((await readQueueStatus(root))[0]!.metrics).toMatchObject({ health: 'ok' });
    // The same metrics as a killed process left them: saved by a pid that no longer exists.
    const child = spawn('sleep', ['60']);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const saved = JSON.parse(readFileSync(join(root, 'live', 'metrics.json'), 'utf8')) as object;
    await sink.close();
    writeFileSync(
      join(root, 'live', 'metrics.json'),
      JSON.stringify({ ...saved, pid: child.pid, health: 'ok' }),
    );
    const [row] = await readQueueStatus(root);
    expect(row!.metrics!.health).toBe('stopped');
    expect(formatStatus([row!])[1]).toMatch(/^es-live\s+stopped\s/);
    // Without a pid (an older file) and not saved for minutes: stale, not ok.
    writeFileSync(
      join(root, 'live', 'metrics.json'),
      JSON.stringify({ ...saved, pid: undefined, health: 'ok', savedAt: '2026-01-01T00:00:00Z' }),
    );
    expect((await readQueueStatus(root))[0]!.metrics!.health).toBe('stale');
  });

  it('counts whole dead letters only, and says how to re-send them', async () => {
    const sink = await createQueuedSink({
      destination: destination('es-d', true),
      queue: { directory: join(root, 'es-d') },
      log: memoryLog(),
    });
    await sink.close();
    const file = join(root, 'es-d', 'dead-letter.ndjson');
    await writeDeadLetters(file, 'es-d', [
      { record: { id: 'a', body: '{}' }, reason: 'mapping' },
      { record: { id: 'b', body: '{}' }, reason: 'mapping' },
    ]);
    appendFileSync(file, '{"time":"torn'); // a crash mid-append: not a finding
    const [row] = await readQueueStatus(root);
    expect(row!.deadLetterFindings).toBe(2);
    expect(formatStatus([row!])).toContain(
      `es-d: 2 dead letter(s) in ${file}; re-send them with: ringside sinks redeliver --sinks FILE --sink es-d`,
    );
  });

  it('says so when there is nothing, and honours RINGSIDE_QUEUE_DIR', async () => {
    expect(formatStatus(await readQueueStatus(join(root, 'missing')))).toEqual([
      'no sink queues found',
    ]);
    expect(defaultQueueRoot({ RINGSIDE_QUEUE_DIR: '/x' })).toBe('/x');
    expect(defaultQueueRoot({ XDG_STATE_HOME: '/s' })).toBe('/s/ringside/queues');
  });

  it('formats metrics in hand for the summary on exit', () => {
    const lines = formatMetrics([
      {
        sink: 'stdout',
        health: 'ok',
        accepted: 5,
        queued: 0,
        queuedBytes: 0,
        sent: 5,
        retried: 0,
        deadLettered: 0,
        dropped: 0,
      },
      {
        sink: 'elasticsearch:es:9200',
        health: 'failing',
        accepted: 7,
        queued: 7,
        queuedBytes: 4096,
        sent: 0,
        retried: 21,
        deadLettered: 0,
        dropped: 0,
        lastError: 'sink elasticsearch:es:9200: ConnectionError: connect ECONNREFUSED',
        lastErrorAt: '2026-01-01T00:00:00.000Z',
      },
    ]);
    expect(lines[1]).toMatch(/^stdout\s+ok\s+0\s+0 B\s+5\s+0\s+0\s+0\s/);
    expect(lines[2]).toMatch(/^elasticsearch:es:9200\s+failing\s+7\s+4\.0 KiB\s+0\s+21\s/);
    expect(lines[3]).toBe(
      'elasticsearch:es:9200: last error at 2026-01-01T00:00:00.000Z: sink elasticsearch:es:9200: ConnectionError: connect ECONNREFUSED',
    );
  });
});
