import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryError } from '../../errors.js';
import { RamFileMemory } from './ram-file-memory.js';

describe('RamFileMemory', () => {
  let dir: string;
  let path: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ringside-ram-'));
    path = join(dir, 'ram');
    const bytes = new Uint8Array(64 << 10);
    bytes.set([1, 2, 3, 4], 0);
    bytes.set([5, 6, 7, 8], bytes.length - 4);
    writeFileSync(path, bytes);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('maps a small q35 guest’s RAM at physical 0', () => {
    const memory = new RamFileMemory(path);
    expect(memory.ranges()).toEqual([{ start: 0n, end: 64n << 10n }]);
    const target = new Uint8Array(4);
    memory.readInto(0n, target);
    expect([...target]).toEqual([1, 2, 3, 4]);
    memory.close();
  });

  it('maps an ARM virt guest’s RAM from its base: file offset = GPA − base', () => {
    const base = 0x4000_0000n;
    const memory = new RamFileMemory(path, { base });
    expect(memory.ranges()).toEqual([{ start: base, end: base + (64n << 10n) }]);
    const target = new Uint8Array(4);
    memory.readInto(base, target);
    expect([...target]).toEqual([1, 2, 3, 4]);
    memory.readInto(base + (64n << 10n) - 4n, target);
    expect([...target]).toEqual([5, 6, 7, 8]);
    expect(() => memory.readInto(0n, target)).toThrow(MemoryError);
    expect(() => memory.readInto(base + (64n << 10n) - 2n, target)).toThrow(
      /no guest RAM at 0x40010000/,
    );
    memory.close();
  });
});
