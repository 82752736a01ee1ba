import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createSinksFromConfig } from './config.js';
import { readQueueStatus } from './delivery/status.js';
import { memoryLog } from './log.js';
import { syntheticFinding } from './test-support/findings.js';

const observer = { hostname: 'hv-1', version: '0.1.0' };
let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'ringside-config-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

describe('createSinksFromConfig', () => {
  it('builds a fan-out from YAML, each network sink with its own queue under the root', async () => {
    const config = parse(`
sinks:
  - type: file
    path: ${join(directory, 'out', 'findings.ndjson')}
  - type: syslog
    name: siem-syslog
    host: 127.0.0.1
    port: 9
    transport: tcp
    format: cef
    retry: { baseMs: 10, maxMs: 20 }
`) as unknown;
    const fanout = await createSinksFromConfig(config, {
      observer,
      queueRoot: join(directory, 'queues'),
      log: memoryLog(),
    });
    expect(fanout.sinks.map((sink) => sink.name)).toEqual([
      `file:${join(directory, 'out', 'findings.ndjson')}`,
      'syslog:tcp://127.0.0.1:9',
    ]);
    await fanout.write(syntheticFinding(1));
    await fanout.close();
    expect(readFileSync(join(directory, 'out', 'findings.ndjson'), 'utf8')).toContain(
      syntheticFinding(1).id,
    );
    const status = await readQueueStatus(join(directory, 'queues'));
    expect(status.map((row) => [row.directory.split('/').pop(), row.metrics?.queued])).toEqual([
      ['siem-syslog', 1],
    ]);
  });

  it('names the entry that is wrong', async () => {
    const setup = { observer, queueRoot: directory, log: memoryLog(), source: 'ringside.yaml' };
    await expect(createSinksFromConfig({ sinks: [] }, setup)).rejects.toThrow(
      'ringside.yaml: expected a non-empty list of sinks',
    );
    await expect(createSinksFromConfig({ sinks: [{ type: 'kafka' }] }, setup)).rejects.toThrow(
      'ringside.yaml: sinks[0]: unknown sink type "kafka"',
    );
    await expect(
      createSinksFromConfig(
        { sinks: [{ type: 'splunk', url: 'https://s:8088', token: 'abc-secret' }] },
        setup,
      ),
    ).rejects.toThrow(
      'ringside.yaml: sinks[0].token: a secret must be { env: NAME } or { file: PATH }',
    );
    await expect(
      createSinksFromConfig(
        {
          sinks: [
            { type: 'stdout', name: 'a' },
            { type: 'stdout', name: 'a' },
          ],
        },
        setup,
      ),
    ).rejects.toThrow('two sinks are named "a"');
  });
});
