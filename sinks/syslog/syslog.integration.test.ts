// The syslog sink against a real rsyslogd started by the test on loopback: UDP, TCP with octet
// counting and TLS (CA verified), structured data and CEF; what rsyslog parsed is compared with what
// was meant.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryLog } from '../log.js';
import { privilegeFinding, rootkitFinding, syntheticFinding } from '../test-support/findings.js';
import { makeTestCertificates } from '../test-support/tls.js';
import type { TestCertificates } from '../test-support/tls.js';
import { formatCef } from './cef.js';
import { createSyslogDestination } from './destination.js';
import type { SyslogTransport } from './destination.js';
import type { SyslogFormat } from './message.js';
import { createSyslogSink } from './sink.js';
import { startRsyslog } from './test-support/rsyslog.js';
import type { Rsyslog } from './test-support/rsyslog.js';

const observer = { hostname: 'hv-1', version: '0.1.0' };
let directory: string;
let certificates: TestCertificates;
let rsyslog: Rsyslog;

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'ringside-syslog-'));
  certificates = makeTestCertificates(directory);
  rsyslog = await startRsyslog(directory, certificates);
}, 60_000);
afterAll(async () => {
  await rsyslog?.stop();
  rmSync(directory, { recursive: true, force: true });
});

const portOf = (transport: SyslogTransport) =>
  transport === 'udp' ? rsyslog.udpPort : transport === 'tcp' ? rsyslog.tcpPort : rsyslog.tlsPort;

describe.each([
  ['udp', 'structured'],
  ['tcp', 'structured'],
  ['tls', 'structured'],
  ['udp', 'cef'],
  ['tcp', 'cef'],
  ['tls', 'cef'],
] as [SyslogTransport, SyslogFormat][])('syslog over %s as %s', (transport, format) => {
  it('reaches rsyslog, which parses every field as sent', async () => {
    const queueDirectory = join(directory, `queue-${transport}-${format}`);
    mkdirSync(queueDirectory, { recursive: true });
    const sink = await createSyslogSink({
      host: '127.0.0.1',
      port: portOf(transport),
      transport,
      format,
      observer,
      tls: { caFile: certificates.caFile, serverName: 'localhost' },
      queue: { directory: queueDirectory },
      log: memoryLog(),
    });
    const findings = [
      rootkitFinding,
      privilegeFinding,
      ...Array.from({ length: 50 }, (_, n) => syntheticFinding(n)),
    ];
    const before = rsyslog.lines().length;
    await Promise.all(findings.map((finding) => sink.write(finding)));
    expect(await sink.drained(10_000)).toBe(true);
    await sink.close();
    const received = (await rsyslog.waitForLines(before + findings.length)).slice(before);
    expect(received).toHaveLength(findings.length);

    const [pri, hostname, app, procId, msgId, structuredData, ...message] = received
      .find((line) =>
        line.includes(
          format === 'cef' ? `externalId=${rootkitFinding.id}` : `id="${rootkitFinding.id}"`,
        ),
      )!
      .split('|');
    expect([pri, hostname, app, procId, msgId]).toEqual([
      '130',
      'hv-1',
      'ringside',
      String(process.pid),
      format === 'cef' ? 'CEF' : 'finding',
    ]);
    if (format === 'cef') {
      expect(structuredData).toBe('-');
      expect(message.join('|')).toBe(formatCef(rootkitFinding, observer));
    } else {
      expect(structuredData).toContain('[ringside@32473 ');
      expect(structuredData).toContain('technique="T1014"');
      expect(message.join('|')).toBe(rootkitFinding.message);
    }
    // The message full of characters that need escaping arrives intact.
    const hostile = received.find((line) => line.includes(privilegeFinding.id))!;
    if (format === 'cef')
      expect(hostile).toContain('msg=pid 777 (sh) uid 1000 -> 0 | "quoted" \\= back\\\\slash ]');
    else expect(hostile.endsWith(`|${privilegeFinding.message}`)).toBe(true);
  }, 30_000);
});

describe('syslog connection failures', () => {
  it('refuses a receiver whose certificate the configured CA did not sign', async () => {
    const other = makeTestCertificates(mkdtempSync(join(directory, 'other-ca-')));
    const destination = createSyslogDestination({
      host: '127.0.0.1',
      port: rsyslog.tlsPort,
      transport: 'tls',
      observer,
      tls: { caFile: other.caFile, serverName: 'localhost' },
    });
    await expect(destination.send([destination.encode(rootkitFinding)])).rejects.toMatchObject({
      failure: 'UNAVAILABLE',
      message: expect.stringMatching(/certificate/i),
    });
    await destination.close();
  }, 30_000);

  it('reports an unreachable receiver as a retryable failure', async () => {
    const destination = createSyslogDestination({
      host: '127.0.0.1',
      port: 9,
      transport: 'tcp',
      observer,
    });
    await expect(destination.send([destination.encode(rootkitFinding)])).rejects.toMatchObject({
      failure: 'UNAVAILABLE',
      retryable: true,
    });
    await destination.close();
  });

  it('keeps findings queued while rsyslog is stopped and delivers them when it is back', async () => {
    const ports = { udpPort: rsyslog.udpPort, tcpPort: rsyslog.tcpPort, tlsPort: rsyslog.tlsPort };
    const queueDirectory = join(directory, 'queue-restart');
    const sink = await createSyslogSink({
      host: '127.0.0.1',
      port: ports.tcpPort,
      transport: 'tcp',
      observer,
      queue: { directory: queueDirectory },
      retry: { baseMs: 20, maxMs: 200 },
      log: memoryLog(),
    });
    await sink.write(syntheticFinding(1000));
    expect(await sink.drained(5000)).toBe(true);
    await rsyslog.stop();
    const before = rsyslog.lines().length;
    const findings = Array.from({ length: 20 }, (_, n) => syntheticFinding(2000 + n));
    await Promise.all(findings.map((finding) => sink.write(finding)));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(sink.metrics()).toMatchObject({
      queued: 20,
      health: expect.stringMatching(/retrying|failing/),
    });
    rsyslog = await startRsyslog(directory, certificates, ports);
    expect(await sink.drained(15_000)).toBe(true);
    await sink.close();
    const received = (await rsyslog.waitForLines(before + 20)).slice(before).join('\n');
    for (const finding of findings) expect(received).toContain(`id="${finding.id}"`);
  }, 60_000);
});

describe.each(['tcp', 'tls'] as SyslogTransport[])(
  'one connection per destination (%s)',
  (transport) => {
    const sockets = () =>
      process
        .getActiveResourcesInfo()
        .filter((resource) => resource === 'TCPSocketWrap' || resource === 'TLSWrap').length;

    it('opens a single connection for concurrent batches and leaves none open after close()', async () => {
      const before = sockets();
      const destination = createSyslogDestination({
        host: '127.0.0.1',
        port: portOf(transport),
        transport,
        observer,
        tls: { caFile: certificates.caFile, serverName: 'localhost' },
      });
      const batch = (n: number) => [destination.encode(syntheticFinding(n))];
      await Promise.all([destination.send(batch(1)), destination.send(batch(2))]);
      expect(sockets() - before).toBe(1);
      await destination.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(sockets()).toBe(before);
    });
  },
);

describe('UDP pacing', () => {
  it('delivers a burst of 10,000 findings to rsyslog without loss (unpaced, a burst overruns its socket buffer)', async () => {
    const queueDirectory = join(directory, 'queue-udp-burst');
    mkdirSync(queueDirectory, { recursive: true });
    const sink = await createSyslogSink({
      host: '127.0.0.1',
      port: rsyslog.udpPort,
      transport: 'udp',
      observer,
      batchSize: 500,
      concurrency: 4,
      queue: { directory: queueDirectory },
      log: memoryLog(),
    });
    const total = 10_000;
    const before = rsyslog.lines().length;
    await Promise.all(
      Array.from({ length: total }, (_, n) => sink.write(syntheticFinding(100_000 + n))),
    );
    expect(await sink.drained(60_000)).toBe(true);
    await sink.close();
    const received = (await rsyslog.waitForLines(before + total, 20_000)).slice(before);
    const ids = new Set(received.map((line) => /id="([0-9a-f]+)"/.exec(line)?.[1]));
    expect(received).toHaveLength(total);
    expect(ids.size).toBe(total);
  }, 120_000);
});
