import { BufferMemory } from './buffer-memory.js';
import { CachedPhysicalMemory } from './cached-memory.js';

const bytes = Uint8Array.from({ length: 16 * 4096 }, (_, index) => index % 251);

describe('CachedPhysicalMemory', () => {
  it('returns the same bytes as what it wraps, across page boundaries', () => {
    const cached = new CachedPhysicalMemory(new BufferMemory(bytes));
    const target = new Uint8Array(100);
    cached.readInto(4096n - 50n, target);
    expect([...target]).toEqual([...bytes.subarray(4046, 4146)]);
    cached.readInto(4096n - 50n, target);
    // The first miss reads the whole 8-page block: one miss, then hits.
    expect(cached.misses).toBe(1);
    expect(cached.hits).toBe(3);
  });

  it('serves stale pages until a new generation, then rereads', () => {
    const live = bytes.slice();
    const cached = new CachedPhysicalMemory(new BufferMemory(live));
    const target = new Uint8Array(1);
    cached.readInto(10n, target);
    live[10] = 99;
    cached.readInto(10n, target);
    expect(target[0]).toBe(bytes[10]);
    cached.newGeneration();
    cached.readInto(10n, target);
    expect(target[0]).toBe(99);
  });

  it('passes errors through and caches nothing for a hole', () => {
    const cached = new CachedPhysicalMemory(new BufferMemory(bytes));
    expect(() => cached.readInto(0x20000n, new Uint8Array(8))).toThrow(/0x20000/);
    expect(() => cached.readInto(0x20000n, new Uint8Array(8))).toThrow(/0x20000/);
  });

  it('keeps at most its page budget', () => {
    const cached = new CachedPhysicalMemory(new BufferMemory(bytes), 2);
    const target = new Uint8Array(1);
    // Each block read brings 8 pages into a 2-page budget: only the newest survive.
    for (const page of [0n, 1n, 0n]) cached.readInto(page * 4096n, target);
    expect(cached.misses).toBe(3);
  });

  it('reads single pages where a block would cross a hole', () => {
    const memory = new BufferMemory(bytes.subarray(0, 4096), 0x10000n);
    const cached = new CachedPhysicalMemory(memory);
    const target = new Uint8Array(4);
    cached.readInto(0x10010n, target);
    expect([...target]).toEqual([...bytes.subarray(16, 20)]);
  });

  it('stays out of the way of memory that is itself in memory (a mapped RAM file)', () => {
    const inner = new BufferMemory(bytes);
    const mapped = Object.assign(Object.create(inner) as BufferMemory, { inMemory: true });
    const cached = new CachedPhysicalMemory(mapped);
    const target = new Uint8Array(4);
    cached.readInto(16n, target);
    cached.readInto(16n, target);
    expect([...target]).toEqual([...bytes.subarray(16, 20)]);
    expect(cached.hits + cached.misses).toBe(0);
  });
});
