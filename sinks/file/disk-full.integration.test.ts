// The file sink on a full disk, on a small tmpfs this test mounts (root needed): a refused write is an
// error to the writer, counted and shown as failing; no partial line is left; writes resume with space.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { syntheticFinding } from '../test-support/findings.js';
import { createFileSink } from './sink.js';
import { canMountTmpfs, fillDisk, mountTmpfs, unmountTmpfs } from '../test-support/tmpfs.js';

if (!canMountTmpfs)
  process.stderr.write('file disk-full test skipped: mounting a tmpfs needs root\n');

(canMountTmpfs ? describe : describe.skip)('the file sink on a full disk', () => {
  let mountPoint: string;
  beforeEach(() => {
    mountPoint = mountTmpfs('sinks2-file-full', '256k');
  });
  afterEach(() => {
    unmountTmpfs(mountPoint);
  });

  it('refuses with the disk error, reports it, leaves whole lines only and resumes when space returns', async () => {
    const path = join(mountPoint, 'findings.ndjson');
    const sink = await createFileSink({ path, observer: { hostname: 'hv-1', version: '0.1.0' } });
    for (let n = 0; n < 20; n++) await sink.write(syntheticFinding(n));
    const filler = join(mountPoint, 'filler');
    fillDisk(filler);
    // Large enough not to fit in what tmpfs keeps of a partly used page.
    const refused = await Promise.allSettled(
      Array.from({ length: 50 }, (_, n) => sink.write(syntheticFinding(1000 + n))),
    );
    expect(refused.some((outcome) => outcome.status === 'rejected')).toBe(true);
    const rejected = refused.filter((outcome) => outcome.status === 'rejected').length;
    expect(sink.metrics()).toMatchObject({ health: 'failing', dropped: rejected });
    expect(sink.metrics().lastError).toMatch(/ENOSPC/);

    rmSync(filler);
    for (let n = 0; n < 20; n++) await sink.write(syntheticFinding(2000 + n));
    const metrics = sink.metrics();
    await sink.close();
    expect(metrics).toMatchObject({ health: 'ok', queued: 0, dropped: rejected });
    // Every line parses (none cut by the full disk); every acknowledged finding is there.
    const ids = readFileSync(path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { event: { id: string } }).event.id);
    const acknowledged = [
      ...Array.from({ length: 20 }, (_, n) => syntheticFinding(n).id),
      ...refused.flatMap((outcome, n) =>
        outcome.status === 'fulfilled' ? [syntheticFinding(1000 + n).id] : [],
      ),
      ...Array.from({ length: 20 }, (_, n) => syntheticFinding(2000 + n).id),
    ];
    expect(new Set(ids)).toEqual(new Set(acknowledged));
  });
});
