// The hit ring, Ringside's side: a shared file through which the TCG plugin hands over held hits and
// gets its resume, with no socket and no event-loop I/O in between (layout: plugin/ringside-tcg.c).
// A worker thread sleeps on the `request` futex and wakes the main thread through Atomics; the
// handler runs there and the resume is a store plus a futex wake. Unavailable → the socket stays.
import { closeSync, ftruncateSync, openSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch } from 'node:os';
import { Worker } from 'node:worker_threads';

export const RING_MAGIC = 0x47525352;
export const RING_VERSION = 1;
const HEADER = 64;
const SLOT = 64 << 10;
export const RING_BYTES = HEADER + SLOT;
const OFFSET = {
  request: 8,
  reply: 12,
  attached: 16,
  length: 20,
  closed: 24,
  frames: 28,
  timespec: 32,
  sentNs: 48,
};
/** How many recent hits the latency figures cover. */
const LATENCY_SAMPLES = 4096;

/** Where a ring round trip's time goes, medians over the recent hits (µs). */
export interface RingLatency {
  samples: number;
  /** Plugin put the hit in the slot → the worker thread woke. */
  toWorker: number;
  /** Worker woke → the main thread had the frame. */
  toMain: number;
  /** Main thread had the frame → the resume was stored (decode and handlers). */
  handling: number;
}
const FUTEX_WAKE = 1;
/** SYS_futex by host architecture (the ring is between two processes on this host). */
const SYS_FUTEX: Record<string, number> = { x64: 202, arm64: 98 };

interface Koffi {
  load(name: string): { func(signature: string): (...args: unknown[]) => unknown };
  address(pointer: unknown): bigint;
  view(pointer: unknown, length: number): ArrayBuffer;
}

interface Libc {
  koffi: Koffi;
  mmap: (
    address: null,
    length: number,
    prot: number,
    flags: number,
    fd: number,
    offset: number,
  ) => unknown;
  munmap: (address: unknown, length: number) => number;
  syscall: (...args: number[]) => number;
}

const SIGNATURES = {
  mmap: 'void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)',
  munmap: 'int munmap(void *addr, size_t length)',
  // syscall is variadic; on x86-64 and AArch64 Linux six integer arguments pass the same way.
  syscall:
    'long syscall(long number, uintptr_t word, int op, uint32_t value, uintptr_t timeout, uintptr_t word2, uint32_t value3)',
};

let libc: Libc | null | undefined;

function loadLibc(): Libc | null {
  if (libc !== undefined) return libc;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as Koffi;
    const c = koffi.load('libc.so.6');
    libc = {
      koffi,
      mmap: c.func(SIGNATURES.mmap) as Libc['mmap'],
      munmap: c.func(SIGNATURES.munmap) as Libc['munmap'],
      syscall: c.func(SIGNATURES.syscall) as Libc['syscall'],
    };
  } catch {
    libc = null;
  }
  return libc;
}

/**
 * The worker: maps the file itself (a futex on a shared file mapping is keyed by the file, so both
 * mappings share it), sleeps on `request` in slices of 100 ms (to notice `stop`), and tells the
 * main thread of each new request through signal[0]. signal[1] = 1 stops it.
 */
const WORKER = `
const { workerData } = require('node:worker_threads');
const koffi = require(workerData.koffi);
const c = koffi.load('libc.so.6');
const mmap = c.func(${JSON.stringify(SIGNATURES.mmap)});
const munmap = c.func(${JSON.stringify(SIGNATURES.munmap)});
const syscall = c.func(${JSON.stringify(SIGNATURES.syscall)});
const fs = require('node:fs');
const fd = fs.openSync(workerData.path, 'r+');
const pointer = mmap(null, ${RING_BYTES}, 3, 1, fd, 0);
fs.closeSync(fd);
const base = Number(koffi.address(pointer));
const view = new DataView(koffi.view(pointer, ${HEADER}));
const signal = new Int32Array(workerData.signal);
const woke = new BigInt64Array(workerData.woke);
view.setBigInt64(${OFFSET.timespec}, 0n, true);
view.setBigInt64(${OFFSET.timespec + 8}, 100000000n, true);
let seen = workerData.seen; // what the main thread saw: a hit sent before this worker ran is not missed
while (Atomics.load(signal, 1) === 0) {
  const request = view.getUint32(${OFFSET.request}, true);
  if (request !== seen) {
    seen = request;
    Atomics.store(woke, 0, process.hrtime.bigint());
    Atomics.store(signal, 0, request | 0);
    Atomics.notify(signal, 0);
    continue;
  }
  syscall(workerData.futex, base + ${OFFSET.request}, 0, seen, base + ${OFFSET.timespec}, 0, 0);
}
munmap(pointer, ${RING_BYTES});
`;

/** Node 20 has Atomics.waitAsync; the ES2022 lib this project compiles against does not name it. */
interface AtomicsWaitAsync {
  waitAsync(
    array: Int32Array,
    index: number,
    value: number,
  ): { async: false; value: string } | { async: true; value: Promise<string> };
}

export class HitRing {
  private readonly view: DataView;
  private readonly base: number;
  private readonly signal = new Int32Array(new SharedArrayBuffer(8));
  /** When the worker last woke (CLOCK_MONOTONIC ns, as the plugin's clock). */
  private readonly woke = new BigInt64Array(new SharedArrayBuffer(8));
  private readonly latencies: [number, number, number][] = [];
  private latencyNext = 0;
  private readonly worker: Worker;
  private seen: number;
  private stopped = false;

  private constructor(
    readonly path: string,
    private readonly c: Libc,
    private readonly pointer: unknown,
    private readonly futexNumber: number,
    private readonly onFrame: (body: Uint8Array) => void,
  ) {
    this.view = new DataView(c.koffi.view(pointer, RING_BYTES));
    this.base = Number(c.koffi.address(pointer));
    this.seen = this.view.getUint32(OFFSET.request, true);
    this.worker = new Worker(WORKER, {
      eval: true,
      workerData: {
        path,
        koffi: createRequire(import.meta.url).resolve('koffi'),
        signal: this.signal.buffer,
        woke: this.woke.buffer,
        futex: futexNumber,
        seen: this.seen,
      },
    });
    this.worker.unref();
    this.worker.on('error', () => this.stop());
    this.listen();
  }

  /**
   * Creates the ring file at `path` and its worker; undefined where it cannot work here (no koffi,
   * a host architecture without a known futex number, mmap refused). `onFrame` gets each hit's frame
   * body (type byte and payload) on the main thread.
   */
  static create(path: string, onFrame: (body: Uint8Array) => void): HitRing | undefined {
    const c = loadLibc();
    const futexNumber = SYS_FUTEX[arch()];
    if (!c || futexNumber === undefined) return undefined;
    const fd = openSync(path, 'w+', 0o600);
    try {
      ftruncateSync(fd, RING_BYTES);
      const header = Buffer.alloc(8);
      header.writeUInt32LE(RING_MAGIC, 0);
      header.writeUInt32LE(RING_VERSION, 4);
      writeSync(fd, header, 0, 8, 0);
      const pointer = c.mmap(null, RING_BYTES, 3 /* read, write */, 1 /* shared */, fd, 0);
      if (!pointer || c.koffi.address(pointer) === 0xffff_ffff_ffff_ffffn) {
        rmSync(path, { force: true });
        return undefined;
      }
      return new HitRing(path, c, pointer, futexNumber, onFrame);
    } finally {
      closeSync(fd);
    }
  }

  /** The plugin mapped the ring and sends held hits through it. */
  get attached(): boolean {
    return !this.stopped && this.view.getUint32(OFFSET.attached, true) === 1;
  }

  /**
   * Resumes the vCPU held for `sequence` once the plugin has handled the first `framesSent` frames
   * of the socket (what the handler sent meanwhile takes effect before the guest goes on).
   */
  reply(sequence: number, framesSent: number): void {
    if (this.stopped) return;
    this.view.setUint32(OFFSET.frames, framesSent >>> 0, true);
    this.view.setUint32(OFFSET.reply, sequence >>> 0, true);
    this.c.syscall(this.futexNumber, this.base + OFFSET.reply, FUTEX_WAKE, 1, 0, 0, 0);
  }

  /**
   * Medians of where the recent round trips' time went (a handler that holds the vCPU past its
   * return is not in `handling`). Forget the samples with `reset`.
   */
  latency(reset = false): RingLatency {
    const median = (index: number): number => {
      const values = this.latencies.map((sample) => sample[index]!).sort((a, b) => a - b);
      return values.length ? values[Math.floor(values.length / 2)]! : 0;
    };
    const figures = {
      samples: this.latencies.length,
      toWorker: median(0),
      toMain: median(1),
      handling: median(2),
    };
    if (reset) {
      this.latencies.length = 0;
      this.latencyNext = 0;
    }
    return figures;
  }

  /** Tells the plugin to stop using it (a held vCPU goes on), stops the worker, removes the file. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.view.setUint32(OFFSET.closed, 1, true);
    this.c.syscall(this.futexNumber, this.base + OFFSET.reply, FUTEX_WAKE, 1 << 30, 0, 0, 0);
    Atomics.store(this.signal, 1, 1);
    // The worker notices within its 100 ms sleep; the mapping goes once it has (no view is used after).
    this.worker.once('exit', () => this.c.munmap(this.pointer, RING_BYTES));
    rmSync(this.path, { force: true });
  }

  /**
   * Handles a new request if there is one, then waits for the worker's next signal. The signal is
   * read before the request: a signal that comes after that read ends the wait at once.
   */
  private listen(): void {
    if (this.stopped) return;
    const signalled = Atomics.load(this.signal, 0);
    const request = this.view.getUint32(OFFSET.request, true);
    if (request !== this.seen) {
      this.seen = request;
      const length = this.view.getUint32(OFFSET.length, true);
      const got = process.hrtime.bigint();
      if (length > 0 && length <= SLOT)
        this.onFrame(new Uint8Array(this.view.buffer, HEADER, length).slice());
      const sent = this.view.getBigUint64(OFFSET.sentNs, true);
      const woke = Atomics.load(this.woke, 0);
      const done = process.hrtime.bigint();
      if (sent > 0n && woke >= sent && got >= woke) {
        this.latencies[this.latencyNext++ % LATENCY_SAMPLES] = [
          Number(woke - sent) / 1000,
          Number(got - woke) / 1000,
          Number(done - got) / 1000,
        ];
      }
    }
    const wait = (Atomics as unknown as AtomicsWaitAsync).waitAsync(this.signal, 0, signalled);
    if (wait.async) void wait.value.then(() => this.listen());
    else queueMicrotask(() => this.listen());
  }
}
