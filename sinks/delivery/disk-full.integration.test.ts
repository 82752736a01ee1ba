// A full disk under a queued sink, on a small tmpfs this test mounts (root needed): refused writes
// never crash the process, show in `ringside status` (dropped, health not ok), and every finding the
// sink acknowledged reaches the destination once space comes back through delivery.
import { spawn } from 'node:child_process';
import type { ChildProcess, ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeElasticsearch } from '../elasticsearch/test-support/fake-elasticsearch.js';
import { readQueueStatus } from './status.js';
import { canMountTmpfs, fillDisk, mountTmpfs, unmountTmpfs } from '../test-support/tmpfs.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
if (!canMountTmpfs) process.stderr.write('disk-full test skipped: mounting a tmpfs needs root\n');

(canMountTmpfs ? describe : describe.skip)('a queued sink on a full disk', () => {
  let mountPoint: string;
  let server: FakeElasticsearch | undefined;
  let child: ChildProcess | undefined;
  beforeEach(() => {
    mountPoint = mountTmpfs('sinks-full', '512k');
  });
  afterEach(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    await server?.stop();
    unmountTmpfs(mountPoint);
  });

  it('refuses writes with ENOSPC without crashing, reports them, and loses nothing acknowledged', async () => {
    server = await FakeElasticsearch.start();
    await server.down();
    const queueRoot = join(mountPoint, 'queues');
    child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(here, 'test-support', 'disk-full-process.ts'),
        join(queueRoot, 'es'),
        server.url,
      ],
      { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const { stdin, stdout, stderr } = child as ChildProcessByStdio<Writable, Readable, Readable>;
    let output = '';
    let errors = '';
    stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve));
    while (!output.includes('full after') && child.exitCode === null)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(output).toContain('full after');
    // The process saw refusals; its metrics (rewritten every 100 ms) must say so, disk full or not.
    await new Promise((resolve) => setTimeout(resolve, 400));
    const [status] = await readQueueStatus(queueRoot);
    expect(status?.metrics?.dropped).toBeGreaterThan(0);
    expect(status?.metrics?.health).not.toBe('ok');
    expect(status?.metrics?.lastError).toMatch(/ENOSPC|no space/i);
    // Not one byte left, then the destination comes back: cursor and metrics writes meet ENOSPC too.
    fillDisk(join(mountPoint, 'filler'));
    await server.up();
    stdin.write('go\n');
    const code = await exited;
    expect(errors).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    expect(code).toBe(0);
    expect(output).toMatch(/drained refused \d+/);
    const acknowledged = [...output.matchAll(/^ok (\w+)$/gm)].map((match) => match[1]!);
    expect(acknowledged.length).toBeGreaterThan(50);
    for (const id of acknowledged) expect(server.stored.has(id)).toBe(true);
    expect(readdirSync(join(queueRoot, 'es')).length).toBeGreaterThan(0);
  }, 60_000);
});
