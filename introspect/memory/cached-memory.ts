// A page cache in front of physical memory: small reads are served from whole 4 KiB pages kept for
// one generation (a snapshot forever; a live guest until it runs again). Large reads go straight
// through. It implements the same interface as what it wraps.
import type { PhysicalMemory, PhysicalRange } from './types.js';

const PAGE = 4096;
const PAGE_SHIFT = 12n;
/** Pages read together on a miss (32 KiB: one order-3 slab, as task_struct uses). */
const BLOCK_PAGES = 8;
/** Reads at least this long bypass the cache. */
const DIRECT_READ = 16 * PAGE;

export class CachedPhysicalMemory implements PhysicalMemory {
  private readonly pages = new Map<bigint, Uint8Array>();
  hits = 0;
  misses = 0;

  constructor(
    private readonly inner: PhysicalMemory,
    private readonly maxPages = 8192,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  get entryFrame(): ((frame: bigint) => bigint | undefined) | undefined {
    return this.inner.entryFrame;
  }

  ranges(): readonly PhysicalRange[] {
    return this.inner.ranges();
  }

  /** Forgets every cached page (the guest ran). */
  newGeneration(): void {
    this.pages.clear();
  }

  readInto(address: bigint, target: Uint8Array): void {
    if (target.length >= DIRECT_READ || this.inner.inMemory) {
      this.inner.readInto(address, target);
      return;
    }
    let done = 0;
    while (done < target.length) {
      const current = address + BigInt(done);
      const frame = current >> PAGE_SHIFT;
      const offset = Number(current & 0xfffn);
      const count = Math.min(PAGE - offset, target.length - done);
      let page = this.pages.get(frame);
      if (page) {
        this.hits++;
      } else {
        this.misses++;
        page = this.fill(frame);
      }
      target.set(page.subarray(offset, offset + count), done);
      done += count;
    }
  }

  /**
   * Reads the aligned block of pages around `frame` in one call (kernel objects of one kind sit in
   * the same slab, so neighbours are often wanted next); falls back to the single page at a hole.
   */
  private fill(frame: bigint): Uint8Array {
    const first = frame & ~BigInt(BLOCK_PAGES - 1);
    const block = new Uint8Array(BLOCK_PAGES * PAGE);
    try {
      this.inner.readInto(first << PAGE_SHIFT, block);
    } catch {
      const page = new Uint8Array(PAGE);
      this.inner.readInto(frame << PAGE_SHIFT, page); // a failed read caches nothing and throws
      this.remember(frame, page);
      return page;
    }
    for (let index = 0; index < BLOCK_PAGES; index++) {
      this.remember(first + BigInt(index), block.subarray(index * PAGE, (index + 1) * PAGE));
    }
    const index = Number(frame - first);
    return block.subarray(index * PAGE, (index + 1) * PAGE);
  }

  private remember(frame: bigint, page: Uint8Array): void {
    if (this.pages.size >= this.maxPages) this.pages.delete(this.pages.keys().next().value!);
    this.pages.set(frame, page);
  }

  close(): void {
    this.pages.clear();
    this.inner.close();
  }
}
