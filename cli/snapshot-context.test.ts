// Opening a snapshot from the CLI: a file that holds no Linux kernel is bad input (exit 2) naming the
// file, whatever the guest-memory error underneath.
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../introspect/errors.js';
import { exitCodeFor } from './errors.js';
import { openSnapshotKernel } from './snapshot-context.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringside-context-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openSnapshotKernel on a file with no kernel', () => {
  it('a 64 MiB random "dump" is bad input naming the file: exit code 2', () => {
    const path = join(dir, 'random.bin');
    const bytes = new Uint8Array(64 << 20);
    for (let offset = 0; offset < bytes.length; offset += 65536)
      randomFillSync(bytes, offset, 65536);
    writeFileSync(path, bytes);
    let thrown: unknown;
    try {
      openSnapshotKernel(path).snapshot.close();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InputError);
    expect((thrown as Error).message).toMatch(new RegExp(`^${path}: no Linux kernel found`));
    expect(exitCodeFor(thrown)).toBe(2);
  });
});
