// Unit tests of makeDirectory: nested creation, an existing directory, a file in the way, and the
// /proc case where Node's own recursive mkdir never returns.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDirectory } from './make-directory.js';

describe('makeDirectory', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'make-directory-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('creates missing parents, with the mode asked for, and accepts an existing directory', () => {
    const deep = join(root, 'a', 'b', 'c');
    makeDirectory(deep, 0o700);
    expect(statSync(deep).isDirectory()).toBe(true);
    expect(statSync(deep).mode & 0o777).toBe(0o700);
    expect(() => makeDirectory(deep)).not.toThrow();
  });

  it('says when a file stands in the way', () => {
    writeFileSync(join(root, 'file'), '');
    expect(() => makeDirectory(join(root, 'file', 'x'))).toThrow(/ENOTDIR/);
  });

  it('stops with ENOENT where the kernel refuses (/proc), instead of looping', () => {
    expect(() => makeDirectory('/proc/ringside-nope/x')).toThrow(
      expect.objectContaining({ code: 'ENOENT' }),
    );
  });
});
