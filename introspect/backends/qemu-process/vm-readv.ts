// process_vm_readv(2) through koffi (no native build): copies another process's memory straight into
// the caller's buffer in one system call per read, where pread on /proc/PID/mem copies through a
// kernel bounce page. Undefined when koffi or the call is not available; the caller then uses pread.
import { createRequire } from 'node:module';

/** Reads this short go through a native bounce buffer (a few bytes to copy, no address to take). */
const BOUNCE_BYTES = 256;
/** The most one call copies; longer reads loop (process_vm_readv returns short counts anyway). */
const MAX_CALL_BYTES = 1 << 30;

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

let koffi: Koffi | null | undefined;
let readv: ((...args: unknown[]) => unknown) | undefined;

function load(): boolean {
  if (koffi === undefined) {
    try {
      koffi = createRequire(import.meta.url)('koffi') as Koffi;
      readv = koffi
        .load('libc.so.6')
        .func(
          'intptr_t process_vm_readv(int pid, void *local, unsigned long liovcnt, void *remote, unsigned long riovcnt, unsigned long flags)',
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
  // Native memory: the local and remote iovecs, and a bounce buffer for short reads.
  const local = k.alloc('uint64_t', 2);
  const remoteIov = k.alloc('uint64_t', 2);
  const buffer = k.alloc('uint8_t', BOUNCE_BYTES);
  const localView = new BigUint64Array(k.view(local, 16));
  const remoteView = new BigUint64Array(k.view(remoteIov, 16));
  const bounce = new Uint8Array(k.view(buffer, BOUNCE_BYTES));
  const bounceAddress = k.address(buffer);
  let freed = false;
  return {
    read(remote, target, offset, length) {
      const count = Math.min(length, MAX_CALL_BYTES);
      const direct = count > BOUNCE_BYTES;
      if (direct) {
        // `.buffer` moves a typed array V8 keeps on its heap (≤ 64 bytes) out of it, so the address
        // stays put; nothing runs between taking it and the system call.
        void target.buffer;
        localView[0] = k.address(target) + BigInt(offset);
      } else localView[0] = bounceAddress;
      localView[1] = BigInt(count);
      remoteView[0] = remote;
      remoteView[1] = BigInt(count);
      const got = Number(call(pid, local, 1, remoteIov, 1, 0));
      if (got < 0) return -k.errno();
      if (!direct) target.set(bounce.subarray(0, got), offset);
      return got;
    },
    close() {
      if (!freed) for (const pointer of [local, remoteIov, buffer]) k.free(pointer);
      freed = true;
    },
  };
}
