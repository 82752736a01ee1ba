import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { InputError } from '../introspect/errors.js';
import { createConfiguredDestination, createSinksFromConfig } from './config.js';
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

  it('refuses unknown keys and bad values with one line naming the file and the key', async () => {
    const setup = { observer, queueRoot: directory, log: memoryLog(), source: 'ringside.yaml' };
    const es = { type: 'elasticsearch', node: 'http://127.0.0.1:9200' };
    const cases: [object, string][] = [
      [
        { ...es, nameSpace: 'prod' },
        'ringside.yaml: sinks[0].nameSpace: unknown key (did you mean "namespace"?)',
      ],
      [
        { ...es, batchsize: 10 },
        'ringside.yaml: sinks[0].batchsize: unknown key (did you mean "batchSize"?)',
      ],
      [
        { ...es, tls: { ca_file: '/ca.pem' } },
        'ringside.yaml: sinks[0].tls.ca_file: unknown key (did you mean "caFile"?)',
      ],
      [{ ...es, queue: { maxBytes: -5 } }, 'ringside.yaml: sinks[0].queue.maxBytes: '],
      [
        { ...es, node: 'http//es:9200' },
        'ringside.yaml: sinks[0].node: must be an http:// or https:// URL',
      ],
      [
        { ...es, node: 'ftp://es.example/' },
        'ringside.yaml: sinks[0].node: must be an http:// or https:// URL, not "ftp://es.example/"',
      ],
      [
        { type: 'splunk', url: 'ftp://s:8088', token: { env: 'T' } },
        'ringside.yaml: sinks[0].url: must be an http:// or https:// URL',
      ],
      [
        { type: 'syslog', host: 'h', port: 514, transport: 'tcp', fomat: 'cef' },
        'ringside.yaml: sinks[0].fomat: unknown key',
      ],
    ];
    for (const [entry, message] of cases) {
      const error = await createSinksFromConfig({ sinks: [entry] }, setup).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message.startsWith(message)).toBe(true);
      expect((error as Error).message).not.toContain('\n');
    }
    expect(readdirSync(directory)).toEqual([]);
  });

  it('refuses a queue directory it cannot use, as bad input naming it', async () => {
    const notADirectory = join(directory, 'file');
    writeFileSync(notADirectory, 'x');
    const error = await createSinksFromConfig(
      { sinks: [{ type: 'elasticsearch', name: 'es', node: 'http://127.0.0.1:9' }] },
      { observer, queueRoot: notADirectory, log: memoryLog(), source: 'ringside.yaml' },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(
      /^ringside\.yaml: sinks\[0\]: cannot use the queue directory .*\/file\/es \(ENOTDIR|EEXIST\)$/,
    );
  });

  it('warns when certificate verification is turned off', async () => {
    const log = memoryLog();
    const fanout = await createSinksFromConfig(
      {
        sinks: [
          {
            type: 'syslog',
            name: 'tls-unverified',
            host: '127.0.0.1',
            port: 9,
            transport: 'tls',
            tls: { verify: false },
          },
        ],
      },
      { observer, queueRoot: directory, log, source: 'ringside.yaml' },
    );
    await fanout.close();
    expect(log.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        message: expect.stringContaining('tls.verify is false') as unknown,
      }),
    );
  });
});

describe('createConfiguredDestination', () => {
  const config = parse(`
sinks:
  - type: stdout
  - type: module
    path: ./mine.js
  - type: syslog
    host: 127.0.0.1
    port: 9
    transport: tcp
  - type: elasticsearch
    name: es
    node: http://127.0.0.1:9
`) as unknown;
  const setup = () => ({ observer, source: 'sinks.yaml', queueRoot: directory, log: memoryLog() });

  it('finds a network sink by its name or its default name, with its queue directory', async () => {
    const es = createConfiguredDestination(config, 'es', setup());
    expect(es.destination.name).toBe('elasticsearch:127.0.0.1:9');
    expect(es.directory).toBe(join(directory, 'es'));
    // Default names count the module entry, as the sinks of a run do.
    const syslog = createConfiguredDestination(config, 'syslog-2', setup());
    expect(syslog.destination.name).toBe('syslog:tcp://127.0.0.1:9');
    expect(syslog.directory).toBe(join(directory, 'syslog-2'));
    await es.destination.close();
    await syslog.destination.close();
  });

  it('refuses, naming the file, a sink it does not have, or one without dead letters', () => {
    const refusal = (name: string) => {
      try {
        createConfiguredDestination(config, name, setup());
      } catch (error) {
        expect(error).toBeInstanceOf(InputError);
        return (error as Error).message;
      }
      throw new Error(`${name} was accepted`);
    };
    expect(refusal('nope')).toBe(
      'sinks.yaml: no sink named "nope" (its sinks: stdout-0, module-1, syslog-2, es)',
    );
    expect(refusal('stdout-0')).toMatch(/^sinks.yaml: sinks\[0\]: sink "stdout-0" has no queue/);
    expect(refusal('module-1')).toMatch(
      /^sinks.yaml: sinks\[1\]: sink "module-1" is a module sink/,
    );
  });
});
