// ProcessMemory against a real process, this one: its "guest RAM" is buffers of this test, read
// back through process_vm_readv and through /proc/self/mem, short and long reads, across ranges,
// into buffers at every kind of skew from the source (the staged path against 4K aliasing).
import { createRequire } from 'node:module';
import { MemoryError } from '../../errors.js';
import { ProcessMemory } from './process-memory.js';
import { aliases, pageSkew } from './vm-readv.js';

const koffi = createRequire(import.meta.url)('koffi') as {
  address(value: unknown): bigint;
  alloc(type: string, count: number): unknown;
  view(pointer: unknown, length: number): ArrayBuffer;
};

/** The "guest RAM" in native memory, as QEMU's is; its address is taken once, at load. */
const natives: unknown[] = []; // kept referenced: the memory lives as long as the file runs
function nativeBytes(length: number, byte: (index: number) => number): Uint8Array {
  const pointer = koffi.alloc('uint8_t', length);
  natives.push(pointer);
  const bytes = new Uint8Array(koffi.view(pointer, length));
  for (let index = 0; index < length; index += 1) bytes[index] = byte(index) & 0xff;
  return bytes;
}

const low = nativeBytes(64 * 1024, (index) => index * 7);
const high = nativeBytes(8192, (index) => index * 13 + 1);
const large = nativeBytes(600 * 1024, (index) => index * 31 + (index >> 12));
const mappings = [
  { start: 0x10000n, end: 0x20000n, host: koffi.address(low), block: 'low' },
  // Contiguous with the first in guest-physical space, elsewhere in the process.
  { start: 0x20000n, end: 0x22000n, host: koffi.address(high), block: 'high' },
  {
    start: 0x100000n,
    end: 0x100000n + BigInt(large.length),
    host: koffi.address(large),
    block: 'large',
  },
];

describe.each(['process_vm_readv', 'pread'] as const)('ProcessMemory (%s)', (access) => {
  let memory: ProcessMemory;
  beforeAll(() => {
    memory = new ProcessMemory(process.pid, mappings, 'self', { access });
  });
  afterAll(() => memory.close());

  it('reads through the chosen system call', () => {
    expect(memory.access).toBe(access);
  });

  it('reads a page, a few bytes and a long run straight from the process', () => {
    const page = new Uint8Array(4096);
    memory.readInto(0x11000n, page);
    expect(Buffer.from(page).equals(low.subarray(0x1000, 0x2000))).toBe(true);
    const few = new Uint8Array(5);
    memory.readInto(0x10003n, few);
    expect([...few]).toEqual([...low.subarray(3, 8)]);
    // Into the middle of a larger buffer (an offset view), as the kernel reader's caches do.
    const big = new Uint8Array(0x10000 + 16);
    memory.readInto(0x10000n, big.subarray(16));
    expect(Buffer.from(big.buffer, 16).equals(low)).toBe(true);
  });

  it('reads right whatever the skew between the buffer and the source within a page', () => {
    // Skews of 1–63 bytes go through the staging buffer (4K aliasing), the rest straight in.
    // 600 KiB: more than the staging buffer holds, so a staged read takes several calls.
    const backing = new Uint8Array(large.length + 4096);
    const source = Number(koffi.address(large));
    for (const skew of [0, 1, 8, 16, 63, 64, 65, 2048, 4095]) {
      // Where in `backing` a buffer lies `skew` bytes past the source modulo a page (0 … 4095,
      // however far apart the two allocations are).
      const start = pageSkew(source + skew, Number(koffi.address(backing)));
      const into = backing.subarray(start, start + large.length);
      expect(into.length).toBe(large.length);
      expect(aliases(Number(koffi.address(into)), source)).toBe(skew > 0 && skew < 64);
      into.fill(0xee);
      memory.readInto(0x100000n, into);
      expect(Buffer.from(into).equals(large)).toBe(true);
    }
  });

  it('a read across two ranges takes each from its own place', () => {
    const across = new Uint8Array(0x2000);
    memory.readInto(0x1f000n, across);
    expect(Buffer.from(across.buffer, 0, 0x1000).equals(low.subarray(0xf000))).toBe(true);
    expect(Buffer.from(across.buffer, 0x1000).equals(high.subarray(0, 0x1000))).toBe(true);
  });

  it('outside the RAM ranges is a MemoryError, not zeros', () => {
    expect(() => memory.readInto(0x22000n, new Uint8Array(1))).toThrow(MemoryError);
    expect(() => memory.readInto(0x21ff0n, new Uint8Array(32))).toThrow(/no guest RAM at 0x22000/);
  });
});

describe('a process that is gone', () => {
  it('is one clear error, and stays so', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn('sleep', ['30']);
    await new Promise((done) => child.once('spawn', done));
    const memory = new ProcessMemory(child.pid!, [
      { start: 0n, end: 0x1000n, host: 0x10000n, block: 'x' },
    ]);
    child.kill('SIGKILL');
    await new Promise((done) => child.once('exit', done));
    await new Promise((done) => setTimeout(done, 50)); // reaped
    expect(() => memory.readInto(0n, new Uint8Array(4096))).toThrow(/exited/);
    expect(() => memory.readInto(0n, new Uint8Array(8))).toThrow(/exited/);
    memory.close();
  });
});
