// Opens a snapshot and the Linux kernel in it for the CLI, with the optional profile sources a user
// may give instead of the kernel's own (a System.map, a Volatility 3 ISF).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { GuestStructureError, InputError, RingsideError } from '../introspect/errors.js';
import { openSnapshot, type Snapshot } from '../introspect/backends/snapshot/index.js';
import { DeadlineMemory } from '../introspect/memory/deadline-memory.js';
import {
  openLinuxKernel,
  type LinuxKernel,
  type OpenKernelOptions,
} from '../introspect/os/linux/linux-kernel.js';
import { parseIsf } from '../introspect/os/linux/isf/index.js';
import { parseSystemMap } from '../introspect/os/linux/profile/system-map.js';
import { SortedSymbolTable } from '../introspect/os/linux/profile/symbol-table.js';

export interface ProfileOptions {
  /**
   * Guest-physical address of a raw dump's first byte. Unset: 0, and when no kernel is found there,
   * QEMU's ARM virt RAM base (0x4000_0000) for an ARM64 guest.
   */
  ramBase?: bigint;
  systemMap?: string;
  /** A Volatility 3 ISF (.json or .json.xz) to use instead of the kernel's own symbols and types. */
  isf?: string;
  /**
   * Time budget for every read of guest memory (ms; default DEFAULT_TIME_LIMIT_MS, 0 for none): past
   * it reads fail, walkers answer with what they have and a warning, and the command ends.
   */
  timeLimitMs?: number;
}

/** The CLI's watchdog: no snapshot command reads guest memory for longer than this by default. */
export const DEFAULT_TIME_LIMIT_MS = 60_000;

const KERNEL_HALF = 1n << 63n;

/** Where QEMU's `virt` machine (ARM) puts RAM: a raw dump of it starts there. */
export const VIRT_RAM_BASE = 0x4000_0000n;

function readIsfFile(path: string) {
  let text: string;
  if (path.endsWith('.xz')) {
    try {
      text = execFileSync('xz', ['-dc', path], { encoding: 'utf8', maxBuffer: 1 << 30 });
    } catch (error) {
      throw new InputError('cannot decompress with xz', path, { cause: error });
    }
  } else {
    text = readText(path, 'ISF');
  }
  return parseIsf(text, { source: path });
}

export interface OpenedSnapshot {
  snapshot: Snapshot;
  kernel: LinuxKernel;
  /** The watchdog on guest reads, when there is one: `expired` says the answer is partial. */
  budget?: DeadlineMemory;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new InputError(
      `cannot read the ${what} (${(error as NodeJS.ErrnoException).code})`,
      path,
      { cause: error },
    );
  }
}

/**
 * In a snapshot the guest's memory is the input: memory that holds no kernel, or structures that
 * contradict the kernel's types, make a bad (corrupt) file, exit code 2, with the file named.
 */
export function asSnapshotInputError(error: unknown, path: string): unknown {
  if (
    error instanceof RingsideError &&
    (error.code === 'GUEST_STRUCTURE' || error.code === 'MEMORY_UNREADABLE')
  )
    return new InputError(error.message, path);
  return error;
}

export function openSnapshotKernel(path: string, profile: ProfileOptions = {}): OpenedSnapshot {
  try {
    return openKernelIn(path, profile);
  } catch (error) {
    throw asSnapshotInputError(error, path);
  }
}

function openKernelIn(path: string, profile: ProfileOptions): OpenedSnapshot {
  const snapshot = openSnapshot(
    path,
    profile.ramBase !== undefined ? { ramBase: profile.ramBase } : {},
  );
  let options: OpenKernelOptions;
  try {
    options = kernelOptions(profile);
    options.architecture = snapshot.layout.architecture;
    const budget = watchdog(snapshot, profile);
    const kernel = openLinuxKernel(budget ?? snapshot.memory, snapshot.layout.vcpus, options);
    return budget ? { snapshot, kernel, budget } : { snapshot, kernel };
  } catch (error) {
    snapshot.close();
    // A raw dump does not say where RAM starts: an ARM virt guest's begins at 0x4000_0000.
    if (
      error instanceof GuestStructureError &&
      snapshot.layout.format === 'raw' &&
      profile.ramBase === undefined
    ) {
      const retry = openSnapshot(path, { ramBase: VIRT_RAM_BASE });
      try {
        const budget = watchdog(retry, profile);
        const kernel = openLinuxKernel(budget ?? retry.memory, retry.layout.vcpus, {
          ...kernelOptions(profile),
          architecture: 'aarch64',
        });
        return budget ? { snapshot: retry, kernel, budget } : { snapshot: retry, kernel };
      } catch (retryError) {
        retry.close();
        if (!(retryError instanceof GuestStructureError)) throw retryError;
        throw new GuestStructureError(
          `${error.message}; nor as an ARM64 guest with RAM at 0x${VIRT_RAM_BASE.toString(16)} (${retryError.message}); give --ram-base if RAM starts elsewhere`,
        );
      }
    }
    throw error;
  }
}

function watchdog(snapshot: Snapshot, profile: ProfileOptions): DeadlineMemory | undefined {
  const limit = profile.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS;
  return limit > 0 ? new DeadlineMemory(snapshot.memory, limit) : undefined;
}

function kernelOptions(profile: ProfileOptions): OpenKernelOptions {
  const options: OpenKernelOptions = {};
  if (profile.systemMap) {
    const text = readText(profile.systemMap, 'System.map');
    const source = profile.systemMap;
    options.symbols = (image) => {
      // Link-time _text against where the image is mapped gives the KASLR slide.
      const linked = parseSystemMap(text, { source }).address('_text');
      if (linked === undefined) throw new InputError('has no _text symbol', source);
      return parseSystemMap(text, { source, slide: image.virtualStart - linked });
    };
    options.symbolsSource = profile.systemMap;
  }
  if (profile.isf) {
    const isf = readIsfFile(profile.isf);
    const source = profile.isf;
    options.types = isf.types;
    options.typesSource = source;
    options.symbolsSource = source;
    options.symbols = (image) => {
      const linked = isf.symbols.address('_text');
      if (linked === undefined) throw new InputError('has no _text symbol', source);
      const slide = image.virtualStart - linked;
      return new SortedSymbolTable(
        isf.symbols
          .all()
          .map((symbol) =>
            (symbol.address & KERNEL_HALF) !== 0n
              ? { ...symbol, address: symbol.address + slide }
              : symbol,
          ),
      );
    };
  }
  return options;
}

/** `--time-limit SECONDS` as milliseconds (0: no limit); anything else is bad input naming it. */
export function timeLimitOption(text: string): number {
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new InputError('not a number of seconds (0 for no limit)', `--time-limit ${text}`);
  return seconds * 1000;
}
