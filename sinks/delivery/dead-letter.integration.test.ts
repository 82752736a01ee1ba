// The dead-letter file on a full disk, on a small tmpfs this test mounts (root needed): a write cut
// short by ENOSPC leaves no torn line behind, so the letters written once there is space read back.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canMountTmpfs, fillDisk, mountTmpfs, unmountTmpfs } from '../test-support/tmpfs.js';
import { readDeadLetters, writeDeadLetters } from './dead-letter.js';

if (!canMountTmpfs) process.stderr.write('dead-letter disk-full test skipped: needs root\n');

const letter = (n: number) => ({
  record: { id: `id-${n}`, body: JSON.stringify({ n, text: 'x'.repeat(2000) }) },
  reason: 'mapping error',
});

(canMountTmpfs ? describe : describe.skip)('the dead-letter file on a full disk', () => {
  let mountPoint: string;
  beforeEach(() => {
    mountPoint = mountTmpfs('dead-letter-full', '64k');
  });
  afterEach(() => unmountTmpfs(mountPoint));

  it('cuts off a write the disk refused half-way, so the next letters read back whole', async () => {
    const path = join(mountPoint, 'dead-letter.ndjson');
    await writeDeadLetters(path, 'es', [letter(1)]);
    // Leave exactly one page free, less than the next batch of letters (about 10 KiB).
    writeFileSync(join(mountPoint, 'one-page'), Buffer.alloc(4096));
    fillDisk(join(mountPoint, 'fill'));
    rmSync(join(mountPoint, 'one-page'));
    const batch = [2, 3, 4, 5, 6].map(letter);
    await expect(writeDeadLetters(path, 'es', batch)).rejects.toThrow(/ENOSPC/);
    rmSync(join(mountPoint, 'fill'));
    await writeDeadLetters(path, 'es', [letter(7)]);
    const file = await readDeadLetters(path);
    expect(file.torn).toEqual([]);
    expect(file.letters.map((l) => l.id)).toEqual(['id-1', 'id-7']);
  });
});
