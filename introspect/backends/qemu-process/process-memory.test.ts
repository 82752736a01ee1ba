// ProcessMemory against a real process, this one: its "guest RAM" is two buffers of this test, read
// back through process_vm_readv and through /proc/self/mem, short and long reads, across ranges.
import { createRequire } from 'node:module';
import { MemoryError } from '../../errors.js';
import { ProcessMemory } from './process-memory.js';

const koffi = createRequire(import.meta.url)('koffi') as { address(value: unknown): bigint };

const low = new Uint8Array(64 * 1024).map((_, index) => (index * 7) & 0xff);
const high = new Uint8Array(8192).map((_, index) => (index * 13 + 1) & 0xff);
const mappings = [
  { start: 0x10000n, end: 0x20000n, host: koffi.address(low), block: 'low' },
  // Contiguous with the first in guest-physical space, elsewhere in the process.
  { start: 0x20000n, end: 0x22000n, host: koffi.address(high), block: 'high' },
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
