// Physical memory backed by a file holding segments of guest RAM (an ELF core's PT_LOADs, LiME ranges,
// a raw dump as one segment). Reads go straight to the file with pread; holes are errors.
import { closeSync, openSync, readSync } from 'node:fs';
import { MemoryError } from '../errors.js';
import type { PhysicalMemory, PhysicalRange } from './types.js';

export interface FileSegment {
  /** Guest-physical start. */
  physical: bigint;
  /** Offset of the segment's first byte in the file. */
  fileOffset: number;
  length: number;
}

export class SegmentedFileMemory implements PhysicalMemory {
  private readonly segments: FileSegment[];
  private readonly starts: bigint[];
  private readonly fd: number;

  constructor(
    readonly name: string,
    segments: readonly FileSegment[],
    fd?: number,
    readonly entryFrame?: (frame: bigint) => bigint | undefined,
  ) {
    this.segments = [...segments]
      .filter((s) => s.length > 0)
      .sort((a, b) => (a.physical < b.physical ? -1 : 1));
    this.starts = this.segments.map((s) => s.physical);
    this.fd = fd ?? openSync(name, 'r');
  }

  ranges(): readonly PhysicalRange[] {
    return this.segments.map((s) => ({ start: s.physical, end: s.physical + BigInt(s.length) }));
  }

  readInto(address: bigint, target: Uint8Array): void {
    let done = 0;
    let current = address;
    while (done < target.length) {
      const segment = this.segmentAt(current);
      if (!segment) throw new MemoryError('no memory in the snapshot', current, this.name);
      const within = Number(current - segment.physical);
      const count = Math.min(target.length - done, segment.length - within);
      const got = readSync(this.fd, target, done, count, segment.fileOffset + within);
      if (got !== count)
        throw new MemoryError(
          `file ends early (read ${got} of ${count} bytes)`,
          current,
          this.name,
        );
      done += count;
      current += BigInt(count);
    }
  }

  close(): void {
    closeSync(this.fd);
  }

  private segmentAt(address: bigint): FileSegment | undefined {
    let low = 0;
    let high = this.starts.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      if (this.starts[middle]! <= address) low = middle + 1;
      else high = middle - 1;
    }
    const segment = this.segments[high];
    if (segment && address < segment.physical + BigInt(segment.length)) return segment;
    return undefined;
  }
}
