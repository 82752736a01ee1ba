// process_vm_readv(2) through koffi (no native build): copies another process's memory straight into
// the caller's buffer in one system call per read, where pread on /proc/PID/mem copies through a
// kernel bounce page. Undefined when koffi or the call is not available; the caller then uses pread.
import { createRequire } from 'node:module';

/** Reads this short go through a native bounce buffer (a few bytes to copy, no address to take). */
const BOUNCE_BYTES = 256;
/** The most one call copies; longer reads loop (process_vm_readv returns short counts anyway). */
const MAX_CALL_BYTES = 1 << 30;
const PAGE = 4096;
/**
 * The kernel copies with `rep movsb`, which runs ~5× slower (2.8 against 13.5 GB/s on this project's
 * AMD EPYC hosts) when the destination lies a few bytes past the source modulo a page: each load
 * then seems to depend on a store just made (4K aliasing; measured: 8 and 16 bytes slow, 32 and 48
 * not). A large Node buffer (256 KiB and up, from mmap) starts 16 bytes into a page, so every read
 * of guest pages into it hit that; smaller ones land anywhere. Such reads are copied through a
 * staging buffer placed half a page away from the source instead.
 */
const ALIASING_WINDOW = 63;
/** The staging buffer: big enough for few calls per MiB, small enough to stay in the L2 cache. */
const STAGING_BYTES = 256 * 1024;
const TWO_32 = 2 ** 32;

interface Koffi {
  load(name: string): { func(signature: string): (...args: unknown[]) => unknown };
  alloc(type: string, count: number): unknown;
  free(pointer: unknown): void;
  /** The address of a koffi pointer, or of a typed array's bytes (koffi ≥ 2.11). */
  address(pointer: unknown): bigint;
  view(pointer: unknown, length: number): ArrayBuffer;
  errno(): number;
}

export interface RemoteReader {
  /** Copies `length` bytes at `remote` in the process into `target` at `offset`; the count, or -errno. */
  read(remote: bigint, target: Uint8Array, offset: number, length: number): number;
  close(): void;
}

/** How far `destination` lies past `source` within a page (0 … 4095). */
export function pageSkew(destination: number, source: number): number {
  return (((destination - source) % PAGE) + PAGE) % PAGE;
}

/** True when the kernel's copy from `source` to `destination` would run into 4K aliasing. */
export function aliases(destination: number, source: number): boolean {
  const skew = pageSkew(destination, source);
  return skew > 0 && skew <= ALIASING_WINDOW;
}

let koffi: Koffi | null | undefined;
let readv: ((...args: unknown[]) => unknown) | undefined;

function load(): boolean {
  if (koffi === undefined) {
    try {
      koffi = createRequire(import.meta.url)('koffi') as Koffi;
      readv = koffi.load('libc.so.6').func(
        // The iovecs by address, as integers: koffi converts a number faster than a pointer object.
        'intptr_t process_vm_readv(int pid, uintptr_t local, unsigned long liovcnt, uintptr_t remote, unsigned long riovcnt, unsigned long flags)',
      );
    } catch {
      koffi = null;
    }
  }
  return koffi !== null && readv !== undefined;
}

export function remoteReader(pid: number): RemoteReader | undefined {
  if (!load()) return undefined;
  const k = koffi!;
  const call = readv!;
  // Native memory: the local and remote iovecs, a bounce buffer for short reads, and the staging
  // buffer (a page of slack, so a start half a page from any source fits).
  const local = k.alloc('uint64_t', 2);
  const remoteIov = k.alloc('uint64_t', 2);
  const buffer = k.alloc('uint8_t', BOUNCE_BYTES);
  const staging = k.alloc('uint8_t', STAGING_BYTES + PAGE);
  // Written as 32-bit halves from plain numbers: no BigInt made per read (user addresses < 2^53).
  const localView = new Uint32Array(k.view(local, 16));
  const remoteBase = new BigUint64Array(k.view(remoteIov, 16));
  const remoteLength = new Uint32Array(k.view(remoteIov, 16));
  const bounce = new Uint8Array(k.view(buffer, BOUNCE_BYTES));
  const stagingBytes = new Uint8Array(k.view(staging, STAGING_BYTES + PAGE));
  const localAddress = Number(k.address(local));
  const remoteAddress = Number(k.address(remoteIov));
  const bounceAddress = Number(k.address(buffer));
  const stagingAddress = Number(k.address(staging));
  let freed = false;

  const setLocal = (address: number, length: number): void => {
    const high = Math.floor(address / TWO_32);
    localView[0] = address - high * TWO_32;
    localView[1] = high;
    localView[2] = length;
    localView[3] = 0;
  };

  return {
    read(remote, target, offset, length) {
      let count = Math.min(length, MAX_CALL_BYTES);
      const source = Number(remote & 0xfffn);
      let copyFrom = -1; // where in the staging buffer the bytes land, when staged
      if (count <= BOUNCE_BYTES) {
        setLocal(bounceAddress, count);
        copyFrom = -2;
      } else {
        // `.buffer` moves a typed array V8 keeps on its heap (≤ 64 bytes) out of it, so the address
        // stays put; nothing runs between taking it and the system call.
        void target.buffer;
        const destination = Number(k.address(target)) + offset;
        if (aliases(destination, source)) {
          count = Math.min(count, STAGING_BYTES);
          copyFrom = pageSkew(source + PAGE / 2, stagingAddress);
          setLocal(stagingAddress + copyFrom, count);
        } else setLocal(destination, count);
      }
      remoteBase[0] = remote;
      remoteLength[2] = count;
      remoteLength[3] = 0;
      const got = Number(call(pid, localAddress, 1, remoteAddress, 1, 0));
      if (got < 0) return -k.errno();
      if (copyFrom === -2) target.set(bounce.subarray(0, got), offset);
      else if (copyFrom >= 0) target.set(stagingBytes.subarray(copyFrom, copyFrom + got), offset);
      return got;
    },
    close() {
      if (!freed) for (const pointer of [local, remoteIov, buffer, staging]) k.free(pointer);
      freed = true;
    },
  };
}
