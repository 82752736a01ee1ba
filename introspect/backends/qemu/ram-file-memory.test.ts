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

  it('reads the same through the mapping and through pread, and sees writes to the file live', () => {
    const mapped = new RamFileMemory(path);
    const plain = new RamFileMemory(path, { map: false });
    expect(mapped.access).toBe('mmap');
    expect(plain.access).toBe('pread');
    const a = new Uint8Array(64 << 10);
    const b = new Uint8Array(64 << 10);
    mapped.readInto(0n, a);
    plain.readInto(0n, b);
    expect(Buffer.compare(a, b)).toBe(0);
    // A shared mapping follows the file, as live guest RAM must.
    writeFileSync(path, Uint8Array.from([9, 9]), { flag: 'r+' });
    const head = new Uint8Array(2);
    mapped.readInto(0n, head);
    expect([...head]).toEqual([9, 9]);
    writeFileSync(path, Uint8Array.from([1, 2]), { flag: 'r+' });
    mapped.close();
    plain.close();
  });

  it('refuses reads after close instead of touching an unmapped file', () => {
    const memory = new RamFileMemory(path);
    memory.close();
    expect(() => memory.readInto(0n, new Uint8Array(4))).toThrow(/the RAM file is closed/);
    memory.close();
  });
});
