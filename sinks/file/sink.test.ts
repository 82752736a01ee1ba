import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryLog } from '../log.js';
import { validateEcs } from '../test-support/ecs-schema.js';
import { rootkitFinding, syntheticFinding } from '../test-support/findings.js';
import { validateDetectionFinding } from '../test-support/ocsf-schema.js';
import { createFileSink } from './sink.js';

const observer = { hostname: 'hv-1', version: '0.1.0' };
let directory: string;
beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'ringside-file-'));
});
afterEach(() => rmSync(directory, { recursive: true, force: true }));

const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('createFileSink', () => {
  it('writes one valid ECS document per line, on disk when write() resolves', async () => {
    const path = join(directory, 'findings.ndjson');
    const sink = await createFileSink({ path, observer });
    await sink.write(rootkitFinding);
    const [document] = lines(path);
    expect(validateEcs(document!)).toEqual([]);
    expect(document).toMatchObject({ event: { id: rootkitFinding.id } });
    expect(sink.metrics()).toMatchObject({ accepted: 1, sent: 1, queued: 0 });
    await sink.close();
  });

  it('writes OCSF Detection Findings when asked', async () => {
    const path = join(directory, 'findings.ndjson');
    const sink = await createFileSink({ path, observer, format: 'ocsf' });
    await sink.write(rootkitFinding);
    await sink.close();
    expect(validateDetectionFinding(lines(path)[0]!)).toEqual([]);
  });

  it('rotates by size, keeps the configured number of files and logs what it deletes', async () => {
    const path = join(directory, 'findings.ndjson');
    const log = memoryLog();
    const sink = await createFileSink({ path, observer, maxBytes: 20_000, keep: 2, log });
    for (let group = 0; group < 20; group += 1)
      await Promise.all(
        Array.from({ length: 10 }, (_, n) => sink.write(syntheticFinding(group * 10 + n))),
      );
    await sink.close();
    const files = readdirSync(directory).sort();
    expect(files).toEqual(['findings.ndjson', 'findings.ndjson.1', 'findings.ndjson.2']);
    for (const file of files)
      expect(readFileSync(join(directory, file)).length).toBeLessThanOrEqual(20_000);
    // The newest findings are in the live file, in order, and no line is split across files.
    const kept = [...lines(`${path}.2`), ...lines(`${path}.1`), ...lines(path)].map(
      (document) => (document.event as { id: string }).id,
    );
    const all = Array.from({ length: 200 }, (_, n) => syntheticFinding(n).id);
    expect(kept).toEqual(all.slice(all.length - kept.length));
    expect(log.lines.some((line) => line.message.includes('deleted by the retention policy'))).toBe(
      true,
    );
  });

  it('continues an existing file after a restart', async () => {
    const path = join(directory, 'findings.ndjson');
    let sink = await createFileSink({ path, observer });
    await sink.write(syntheticFinding(1));
    await sink.close();
    sink = await createFileSink({ path, observer });
    await sink.write(syntheticFinding(2));
    await sink.close();
    expect(lines(path)).toHaveLength(2);
  });
});
