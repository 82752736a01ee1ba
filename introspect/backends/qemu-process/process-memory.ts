// Guest-physical memory read straight out of a running QEMU process at the host address of each RAM
// range: process_vm_readv into the caller's buffer, or pread on /proc/PID/mem. Works for any RAM
// backend (anonymous, private file, memfd, hugepages) and any accelerator; needs ptrace rights.
import { closeSync, openSync, readSync } from 'node:fs';
import { InputError, MemoryError } from '../../errors.js';
import type { PhysicalMemory, PhysicalRange } from '../../memory/types.js';
import type { RamMapping } from './ram-layout.js';
import { remoteReader, type RemoteReader } from './vm-readv.js';

const ERRNO: Record<number, string> = { 1: 'EPERM', 3: 'ESRCH', 14: 'EFAULT' };

export const PTRACE_HINT =
  'reading another process’s memory needs CAP_SYS_PTRACE: run as root, or as QEMU’s user with kernel.yama.ptrace_scope=0';

export class ProcessMemory implements PhysicalMemory {
  readonly name: string;
  private readonly fd: number;
  private readonly mappings: readonly RamMapping[];
  private closed = false;
  /** process_vm_readv unless pread was asked for or koffi is missing; else pread on /proc/PID/mem. */
  private readonly reader: RemoteReader | undefined;
  /** Set once QEMU is seen gone: later reads fail at once (and never reach a process that reused the pid). */
  private gone: MemoryError | undefined;

  constructor(
    readonly pid: number,
    mappings: readonly RamMapping[],
    name = `qemu pid ${pid}`,
    options: { access?: 'pread' | 'process_vm_readv' } = {},
  ) {
    this.name = name;
    this.mappings = [...mappings].sort((a, b) => (a.start < b.start ? -1 : 1));
    try {
      this.fd = openSync(`/proc/${pid}/mem`, 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new InputError(
        code === 'EACCES' || code === 'EPERM'
          ? PTRACE_HINT
          : code === 'ENOENT'
            ? 'no such process'
            : `cannot open its memory (${code})`,
        `pid ${pid}`,
        { cause: error },
      );
    }
    // process_vm_readv by default: one copy, straight into the caller's buffer, against pread's two
    // through a kernel page (bench/qemu-process.bench.ts). It names QEMU by pid; the /proc fd opened
    // above proves the process was there, and the first ESRCH ends every later read.
    this.reader = options.access === 'pread' ? undefined : remoteReader(pid);
  }

  /** How reads reach QEMU's memory. */
  get access(): 'process_vm_readv' | 'pread' {
    return this.reader ? 'process_vm_readv' : 'pread';
  }

  ranges(): readonly PhysicalRange[] {
    return this.mappings.map(({ start, end }) => ({ start, end }));
  }

  /** The RAM ranges and where each lies in QEMU (for `guests`, docs and tests). */
  layout(): readonly RamMapping[] {
    return this.mappings;
  }

  /** The mapping of the last read: most reads land in the same RAM block as the one before. */
  private last: RamMapping | undefined;

  private mappingAt(address: bigint): RamMapping | undefined {
    const last = this.last;
    if (last && address >= last.start && address < last.end) return last;
    let low = 0;
    let high = this.mappings.length - 1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      const mapping = this.mappings[middle]!;
      if (address < mapping.start) high = middle - 1;
      else if (address >= mapping.end) low = middle + 1;
      else return (this.last = mapping);
    }
    return undefined;
  }

  readInto(address: bigint, target: Uint8Array): void {
    if (this.closed) throw new MemoryError('closed', address, this.name);
    if (this.gone) throw this.gone;
    let done = 0;
    while (done < target.length) {
      const current = done === 0 ? address : address + BigInt(done);
      const mapping = this.mappingAt(current);
      if (!mapping) throw new MemoryError('no guest RAM', current, this.name);
      const count = Math.min(target.length - done, Number(mapping.end - current));
      let got: number;
      if (this.reader) {
        got = this.reader.read(mapping.host + (current - mapping.start), target, done, count);
        if (got < 0) {
          const code = ERRNO[-got] ?? `errno ${-got}`;
          if (code === 'ESRCH')
            throw (this.gone = new MemoryError('the QEMU process has exited', current, this.name));
          throw new MemoryError(
            code === 'ESRCH'
              ? 'the QEMU process has exited'
              : code === 'EPERM'
                ? PTRACE_HINT
                : `QEMU's memory is unreadable here (${code})`,
            current,
            this.name,
          );
        }
      } else
        try {
          got = readSync(
            this.fd,
            target,
            done,
            count,
            Number(mapping.host + (current - mapping.start)),
          );
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          if (code === 'ESRCH')
            throw (this.gone = new MemoryError('the QEMU process has exited', current, this.name, {
              cause: error,
            }));
          throw new MemoryError(
            code === 'ESRCH'
              ? 'the QEMU process has exited'
              : `QEMU's memory is unreadable here (${code})`,
            current,
            this.name,
            { cause: error },
          );
        }
      // 0 bytes: the process is gone (its mm was torn down) or the range was unmapped under us.
      if (got === 0)
        throw new MemoryError(
          'the QEMU process has exited or unmapped its RAM',
          current,
          this.name,
        );
      done += got;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reader?.close();
    closeSync(this.fd);
  }
}
