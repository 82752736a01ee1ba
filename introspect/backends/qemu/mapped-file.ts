// A file mapped read-only into this process (mmap through koffi, no native build): live guest RAM
// read at memcpy speed instead of one pread per page. Returns undefined when mapping is not
// available here (no koffi, no libc, mmap refused), and the caller reads with pread instead.
import { createRequire } from 'node:module';

const PROT_READ = 1;
const MAP_SHARED = 1;
const MAP_POPULATE = 0x8000;
/** Up to this size the whole mapping is faulted in at once (a 256 MiB guest: ~40 ms). */
const POPULATE_LIMIT = 4 << 30;

interface Libc {
  mmap: (
    address: null,
    length: number,
    prot: number,
    flags: number,
    fd: number,
    offset: number,
  ) => unknown;
  munmap: (address: unknown, length: number) => number;
  address: (pointer: unknown) => bigint;
  view: (pointer: unknown, length: number) => ArrayBuffer;
}

let libc: Libc | null | undefined;

function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as {
      load(name: string): { func(signature: string): (...args: unknown[]) => unknown };
      address(pointer: unknown): bigint;
      view(pointer: unknown, length: number): ArrayBuffer;
    };
    const c = koffi.load('libc.so.6');
    libc = {
      mmap: c.func(
        'void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)',
      ) as Libc['mmap'],
      munmap: c.func('int munmap(void *addr, size_t length)') as Libc['munmap'],
      address: (pointer) => koffi.address(pointer),
      view: (pointer, length) => koffi.view(pointer, length),
    };
  } catch {
    libc = null;
  }
  return libc;
}

export interface MappedFile {
  bytes: Uint8Array;
  unmap(): void;
}

export function mapFile(fd: number, length: number): MappedFile | undefined {
  const c = loadLibc();
  if (!c || length <= 0 || length > Number.MAX_SAFE_INTEGER) return undefined;
  const flags = MAP_SHARED | (length <= POPULATE_LIMIT ? MAP_POPULATE : 0);
  const pointer = c.mmap(null, length, PROT_READ, flags, fd, 0);
  // MAP_FAILED is (void *)-1.
  if (!pointer || c.address(pointer) === 0xffff_ffff_ffff_ffffn) return undefined;
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(c.view(pointer, length));
  } catch {
    c.munmap(pointer, length);
    return undefined;
  }
  let mapped = true;
  return {
    bytes,
    unmap: () => {
      if (mapped) c.munmap(pointer, length);
      mapped = false;
    },
  };
}
