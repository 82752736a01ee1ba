// The Splunk HEC sink against a local server that speaks HEC (events, token, acknowledgements).
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryLog } from '../log.js';
import { validateEcs } from '../test-support/ecs-schema.js';
import { syntheticFinding } from '../test-support/findings.js';
import { makeTestCertificates } from '../test-support/tls.js';
import { createSplunkDestination } from './destination.js';
import { createSplunkSink } from './sink.js';
import { FakeHec } from './test-support/fake-hec.js';

const observer = { hostname: 'hv-1', version: '0.1.0' };
const TOKEN = '5a1e7c3d-0000-4bad-b0b0-c0ffee000001';
let directory: string;
let hec: FakeHec;
beforeEach(async () => {
  directory = mkdtempSync(join(tmpdir(), 'ringside-hec-'));
  process.env.RINGSIDE_TEST_HEC_TOKEN = TOKEN;
  hec = await FakeHec.start(TOKEN, 2);
});
afterEach(async () => {
  await hec.stop();
  rmSync(directory, { recursive: true, force: true });
});

const findings = (count: number) => Array.from({ length: count }, (_, n) => syntheticFinding(n));
const options = (extra: object = {}) => ({
  url: hec.url,
  token: { env: 'RINGSIDE_TEST_HEC_TOKEN' },
  observer,
  ack: { pollIntervalMs: 5, timeoutMs: 200 },
  queue: { directory },
  batchSize: 100,
  retry: { baseMs: 5, maxMs: 50 },
  log: memoryLog(),
  ...extra,
});

describe('Splunk HEC sink', () => {
  it('delivers batched ECS events with the token and waits for the indexer acknowledgement', async () => {
    const sink = await createSplunkSink(options());
    await Promise.all(findings(500).map((finding) => sink.write(finding)));
    expect(await sink.drained(10_000)).toBe(true);
    await sink.close();
    expect(hec.events).toHaveLength(500);
    expect(hec.counts.requests).toBe(5);
    expect(hec.counts.ackPolls).toBeGreaterThanOrEqual(10);
    const first = hec.events[0] as {
      time: number;
      host: string;
      sourcetype: string;
      event: Record<string, unknown>;
    };
    expect(first).toMatchObject({
      host: 'guest-1',
      sourcetype: 'ringside:finding',
      source: 'ringside',
    });
    expect(first.time).toBe(Date.parse(syntheticFinding(0).timestamp) / 1000);
    expect(validateEcs(first.event)).toEqual([]);
  });

  it('retries "server busy" and lost acknowledgements until every finding is indexed', async () => {
    hec.faults = { busyRate: 0.3, lostAckRate: 0.3 };
    const sink = await createSplunkSink(options());
    await Promise.all(findings(1000).map((finding) => sink.write(finding)));
    expect(await sink.drained(30_000)).toBe(true);
    const metrics = sink.metrics();
    await sink.close();
    const ids = new Set(
      hec.events.map((event) => (event.event as { event: { id: string } }).event.id),
    );
    expect(ids.size).toBe(1000);
    expect(hec.counts.busy).toBeGreaterThan(0);
    expect(hec.counts.lostAcks).toBeGreaterThan(0);
    // At least once: a batch whose acknowledgement was lost is sent again, so HEC holds duplicates.
    expect(hec.events.length).toBeGreaterThan(1000);
    expect(metrics).toMatchObject({ sent: 1000, deadLettered: 0 });
    expect(metrics.retried).toBeGreaterThan(0);
  });

  it('refuses at start, with a clear message, acknowledgement on against a token without it: nothing sent, nothing re-sent', async () => {
    hec.tokenAcks = false;
    const log = memoryLog();
    const sink = await createSplunkSink(options({ log }));
    await Promise.all(findings(500).map((finding) => sink.write(finding)));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const metrics = sink.metrics();
    await sink.close();
    expect(metrics.lastError).toMatch(/acknowledgement is off for this token.*ack\.enabled/);
    expect(hec.events).toHaveLength(0);
    expect(metrics).toMatchObject({ health: 'failing', sent: 0, queued: 500 });
    expect(log.lines.filter((line) => line.level === 'error')).toHaveLength(1);
  });

  it('never re-sends when the token loses acknowledgement after start: each finding indexed exactly once, said once', async () => {
    const log = memoryLog();
    const sink = await createSplunkSink(options({ log }));
    await sink.write(syntheticFinding(10_000));
    expect(await sink.drained(5_000)).toBe(true);
    // Acknowledgement turned off on the token while the sink runs: HEC answers Success, no ackId.
    hec.tokenAcks = false;
    await Promise.all(findings(500).map((finding) => sink.write(finding)));
    expect(await sink.drained(10_000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const metrics = sink.metrics();
    await sink.close();
    const ids = hec.events.map((event) => (event.event as { event: { id: string } }).event.id);
    expect(ids).toHaveLength(501);
    expect(new Set(ids).size).toBe(501);
    expect(metrics).toMatchObject({ sent: 501, queued: 0, deadLettered: 0 });
    const warnings = log.lines.filter((line) => /without an ackId/.test(line.message));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.level).toBe('warn');
  });

  it.each([
    [true, /at least once, not exactly once.*dedup event\.id/],
    [false, /ack\.enabled is false.*set ack\.enabled: true.*dedup event\.id/],
  ])(
    'warns once at start that HEC cannot give exactly once (ack.enabled %s), saying what to set',
    async (enabled, pattern) => {
      const log = memoryLog();
      const sink = await createSplunkSink(
        options({ log, ack: { enabled, pollIntervalMs: 5, timeoutMs: 200 } }),
      );
      await Promise.all(findings(20).map((finding) => sink.write(finding)));
      expect(await sink.drained(5_000)).toBe(true);
      await sink.close();
      const warnings = log.lines.filter((line) => line.level === 'warn');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.message).toMatch(pattern);
    },
  );

  it('dead-letters an event HEC calls invalid and delivers the rest of its batch', async () => {
    const poisoned = syntheticFinding(7).id;
    hec.faults = {
      invalid: (event) => (event.event as { event: { id: string } }).event.id === poisoned,
    };
    const sink = await createSplunkSink(options());
    await Promise.all(findings(20).map((finding) => sink.write(finding)));
    expect(await sink.drained(10_000)).toBe(true);
    await sink.close();
    const deadLetters = readFileSync(join(directory, 'dead-letter.ndjson'), 'utf8')
      .trim()
      .split('\n');
    expect(deadLetters).toHaveLength(1);
    expect(JSON.parse(deadLetters[0]!)).toMatchObject({
      id: poisoned,
      reason: expect.stringContaining('code 6'),
    });
    const ids = new Set(
      hec.events.map((event) => (event.event as { event: { id: string } }).event.id),
    );
    expect(ids.size).toBe(19);
    expect(ids.has(poisoned)).toBe(false);
  });

  it('reports a wrong token as failing, never showing the token', async () => {
    process.env.RINGSIDE_TEST_HEC_TOKEN = 'wrong-token-value-123';
    const log = memoryLog();
    const sink = await createSplunkSink(options({ log }));
    await sink.write(syntheticFinding(1));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const metrics = sink.metrics();
    await sink.close();
    expect(metrics.health).toBe('failing');
    expect(metrics.lastError).toContain('403');
    expect(JSON.stringify([metrics, log.lines])).not.toContain('wrong-token-value-123');
    expect(metrics.queued).toBe(1);
  });

  it('refuses a token in the URL and a missing token', () => {
    expect(() =>
      createSplunkDestination({ url: 'https://x:tok@splunk:8088', token: { env: 'X' }, observer }),
    ).toThrow(/credentials in the URL/);
    expect(() =>
      createSplunkDestination(
        { url: 'https://splunk:8088', token: { env: 'RINGSIDE_UNSET_VAR' }, observer },
        {},
      ),
    ).toThrow('$RINGSIDE_UNSET_VAR');
  });

  it('verifies the collector certificate against the configured CA', async () => {
    const certificates = makeTestCertificates(mkdtempSync(join(directory, 'ca-')));
    const other = makeTestCertificates(mkdtempSync(join(directory, 'other-')));
    const secure = await FakeHec.start(TOKEN, 1, {
      key: readFileSync(certificates.keyFile),
      cert: readFileSync(certificates.certFile),
    });
    try {
      mkdirSync(join(directory, 'good'));
      const good = await createSplunkSink({
        ...options(),
        url: secure.url,
        tls: { caFile: certificates.caFile },
        queue: { directory: join(directory, 'good') },
      });
      await good.write(syntheticFinding(1));
      expect(await good.drained(5000)).toBe(true);
      await good.close();
      expect(secure.events).toHaveLength(1);

      const wrong = await createSplunkSink({
        ...options(),
        url: secure.url,
        tls: { caFile: other.caFile },
        queue: { directory: join(directory, 'wrong') },
        failingAfter: 1,
      });
      await wrong.write(syntheticFinding(2));
      await new Promise((resolve) => setTimeout(resolve, 100));
      const metrics = wrong.metrics();
      await wrong.close();
      expect(metrics).toMatchObject({ health: 'failing', queued: 1 });
      expect(metrics.lastError).toMatch(/certificate/i);
      expect(secure.events).toHaveLength(1);
    } finally {
      await secure.stop();
    }
  }, 30_000);
});
