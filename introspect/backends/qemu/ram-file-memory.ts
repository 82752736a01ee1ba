// Live guest-physical memory straight from QEMU's RAM backing file (memory-backend-file, share=on),
// laid out as q35 maps it: RAM below the PCI hole at its own address, the rest from 4 GiB on; or, for
// a machine that puts RAM in one block elsewhere (ARM virt: 0x4000_0000), from a given base.
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { InputError, MemoryError } from '../../errors.js';
import type { PhysicalMemory, PhysicalRange } from '../../memory/types.js';
import { mapFile, type MappedFile } from './mapped-file.js';

const FOUR_GIB = 4n << 30n;

/** RAM below 4 GiB on q35: all of it up to 2.75 GiB, else 2 GiB. */
export const q35LowMemory = (ramBytes: bigint): bigint =>
  ramBytes >= 0xb000_0000n ? 0x8000_0000n : ramBytes;

export class RamFileMemory implements PhysicalMemory {
  private readonly fd: number;
  private readonly size: bigint;
  private readonly low: bigint;
  /** Guest-physical address of the file's first byte when RAM is one block (ARM virt); else 0. */
  private readonly base: bigint;
  /** The file mapped into this process, when that works here; else each read is a pread. */
  private readonly mapped: MappedFile | undefined;

  constructor(
    readonly name: string,
    options: { base?: bigint; /** false: pread only, never mmap. */ map?: boolean } = {},
  ) {
    this.base = options.base ?? 0n;
    try {
      this.fd = openSync(name, 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new InputError(
        code === 'ENOENT'
          ? 'no such RAM file (start QEMU with -object memory-backend-file,…,mem-path=FILE,share=on)'
          : `cannot open the RAM file (${code})`,
        name,
        { cause: error },
      );
    }
    this.size = BigInt(fstatSync(this.fd).size);
    if (this.size === 0n)
      throw new InputError(
        'the RAM file is empty: is QEMU running with this memory backend?',
        name,
      );
    // One block from a base has no PCI hole to step over.
    this.low = this.base !== 0n ? this.size : q35LowMemory(this.size);
    this.mapped = options.map === false ? undefined : mapFile(this.fd, Number(this.size));
  }

  get inMemory(): boolean {
    return this.mapped !== undefined;
  }

  /** How reads reach the file: a shared read-only mapping, or pread. */
  get access(): 'mmap' | 'pread' {
    return this.mapped ? 'mmap' : 'pread';
  }

  ranges(): readonly PhysicalRange[] {
    if (this.base !== 0n) return [{ start: this.base, end: this.base + this.size }];
    const ranges: PhysicalRange[] = [{ start: 0n, end: this.low }];
    if (this.size > this.low)
      ranges.push({ start: FOUR_GIB, end: FOUR_GIB + (this.size - this.low) });
    return ranges;
  }

  /** File offset of a guest-physical address, or undefined in the PCI hole or past the end. */
  private offsetOf(address: bigint): bigint | undefined {
    if (this.base !== 0n) {
      const offset = address - this.base;
      return offset >= 0n && offset < this.size ? offset : undefined;
    }
    if (address < this.low) return address;
    if (address >= FOUR_GIB && address - FOUR_GIB < this.size - this.low)
      return this.low + (address - FOUR_GIB);
    return undefined;
  }

  private closed = false;

  readInto(address: bigint, target: Uint8Array): void {
    // After close the mapping is gone: reading it would crash the process, so say so instead.
    if (this.closed) throw new MemoryError('the RAM file is closed', address, this.name);
    let done = 0;
    while (done < target.length) {
      const current = address + BigInt(done);
      const offset = this.offsetOf(current);
      if (offset === undefined) throw new MemoryError('no guest RAM', current, this.name);
      // Bytes left in this block of the file: up to the PCI hole below 4 GiB, else to the end.
      const fileRemaining = Number(
        this.base === 0n && current < this.low ? this.low - current : this.size - offset,
      );
      const count = Math.min(target.length - done, fileRemaining);
      if (this.mapped) {
        const start = Number(offset);
        target.set(this.mapped.bytes.subarray(start, start + count), done);
        done += count;
        continue;
      }
      const got = readSync(this.fd, target, done, count, Number(offset));
      if (got !== count)
        throw new MemoryError(`short read (${got} of ${count} bytes)`, current, this.name);
      done += count;
    }
  }

  /** A second descriptor, read-write, opened on the first write (response actions only). */
  private writeFd: number | undefined;

  /**
   * Writes guest-physical memory through the file QEMU maps shared: the guest sees it at once.
   * Only a response action writes (restore); QEMU's translated code for the page is not flushed
   * by this, which is why restore runs while the writer's vCPU is held right after its store.
   */
  writeFrom(address: bigint, source: Uint8Array): void {
    if (this.closed) throw new MemoryError('the RAM file is closed', address, this.name);
    const end = address + BigInt(source.length);
    const offset = this.offsetOf(address);
    if (
      offset === undefined ||
      source.length === 0 ||
      this.offsetOf(end - 1n) !== offset + BigInt(source.length - 1)
    )
      throw new MemoryError('no guest RAM (or a write across a hole)', address, this.name);
    if (this.writeFd === undefined) {
      try {
        this.writeFd = openSync(this.name, 'r+');
      } catch (error) {
        throw new MemoryError(
          `cannot open the RAM file for writing (${(error as NodeJS.ErrnoException).code})`,
          address,
          this.name,
        );
      }
    }
    const written = writeSync(this.writeFd, source, 0, source.length, Number(offset));
    if (written !== source.length)
      throw new MemoryError(
        `short write (${written} of ${source.length} bytes)`,
        address,
        this.name,
      );
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.mapped?.unmap();
    closeSync(this.fd);
    if (this.writeFd !== undefined) closeSync(this.writeFd);
  }
}
