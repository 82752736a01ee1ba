// `ringside sinks redeliver` as a user runs it, against the local Elasticsearch-speaking server: the
// findings a mapping refused are re-sent once the mapping is fixed, each id once, with exit 2 and one
// line while the destination is down or still refuses some, and exit 0 when all arrived.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createElasticsearchSink } from '../elasticsearch/sink.js';
import { FakeElasticsearch } from '../elasticsearch/test-support/fake-elasticsearch.js';
import { memoryLog } from '../log.js';
import { syntheticFinding } from '../test-support/findings.js';
import { readDeadLetters } from './dead-letter.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const observer = { hostname: 'hv-test', version: '0.1.0' };
let directory: string;
let server: FakeElasticsearch | undefined;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'sinks-redeliver-'));
});
afterEach(async () => {
  await server?.stop();
  rmSync(directory, { recursive: true, force: true });
});

/** Runs the built CLI (asynchronously: the server answers from this process). */
function ringside(
  ...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(root, 'dist', 'cli', 'main.js'), ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

it('re-sends dead letters once the mapping is fixed: each id once, exit 2 until all arrived', async () => {
  const findings = Array.from({ length: 60 }, (_, n) => syntheticFinding(n));
  const poisoned = new Set(findings.filter((_, n) => n % 6 === 0).map((finding) => finding.id));
  let refuse = new Set(poisoned);
  server = await FakeElasticsearch.start({
    faults: { poison: (document) => [...refuse].some((id) => document.includes(id)) },
  });
  const queueRoot = join(directory, 'queues');
  const sink = await createElasticsearchSink({
    node: server.url,
    observer,
    queue: { directory: join(queueRoot, 'es') },
    batchSize: 25,
    log: memoryLog(),
  });
  for (const finding of findings) await sink.write(finding);
  expect(await sink.drained(20_000)).toBe(true);
  await sink.close();
  expect(server.stored.size).toBe(50);
  const deadLetters = join(queueRoot, 'es', 'dead-letter.ndjson');
  expect((await readDeadLetters(deadLetters)).letters).toHaveLength(10);

  const config = join(directory, 'sinks.yaml');
  writeFileSync(config, `sinks:\n  - type: elasticsearch\n    name: es\n    node: ${server.url}\n`);
  const args = ['sinks', 'redeliver', '--sinks', config, '--sink', 'es', '--queue-dir', queueRoot];

  // A sink the file does not have: bad input, one line, nothing touched.
  const unknown = await ringside(
    'sinks',
    'redeliver',
    '--sinks',
    config,
    '--sink',
    'nope',
    '--queue-dir',
    queueRoot,
  );
  expect(unknown.code).toBe(2);
  expect(unknown.stderr.trim().split('\n')).toEqual([
    `ringside: ${config}: no sink named "nope" (its sinks: es)`,
  ]);

  // The destination down: exit 2, one line, every dead letter kept.
  await server.down();
  const down = await ringside(...args, '--attempts', '1');
  expect(down.code).toBe(2);
  expect(down.stderr).toMatch(
    /^ringside: sink es: 10 finding\(s\) not sent, back in .*dead-letter\.ndjson: .+\n$/,
  );
  expect(down.stderr).not.toMatch(/ at /);
  expect((await readDeadLetters(deadLetters)).letters).toHaveLength(10);
  await server.up();

  // The mapping fixed for all but one: nine arrive, one is refused again (exit 2, named).
  const [stillRefused] = poisoned;
  refuse = new Set([stillRefused!]);
  const partly = await ringside(...args);
  expect(partly.code).toBe(2);
  expect(partly.stdout).toContain(
    'sink es: 10 dead letter(s): 9 delivered, 1 refused again, 0 not sent',
  );
  expect(partly.stderr).toContain(
    `1 finding(s) refused again, back in ${deadLetters} (first: ${stillRefused}:`,
  );
  expect(server.stored.size).toBe(59);

  // All fixed: the last one arrives; then there is nothing left to send, and nothing is sent twice.
  refuse = new Set();
  const rest = await ringside(...args);
  expect([rest.code, rest.stdout, rest.stderr]).toEqual([
    0,
    'sink es: 1 dead letter(s): 1 delivered, 0 refused again, 0 not sent (0 repeated id(s) sent once, 0 already delivered by an interrupted run)\n',
    '',
  ]);
  const bulkBefore = server.counts.bulk;
  const nothing = await ringside(...args);
  expect([nothing.code, nothing.stdout]).toEqual([0, 'sink es: no dead letters\n']);
  expect(server.counts.bulk).toBe(bulkBefore);
  expect(server.stored.size).toBe(60);
  for (const finding of findings) expect(server.stored.has(finding.id)).toBe(true);
  expect(server.counts.conflicts).toBe(0);
  expect(existsSync(deadLetters)).toBe(false);
}, 120_000);
