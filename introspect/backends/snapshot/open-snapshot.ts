// Opens a memory snapshot, telling its format from its content (never its file name): ELF core,
// LiME, or else a raw image of physical memory starting at address 0 (or at a given RAM base: QEMU's
// ARM virt machine puts RAM at 0x4000_0000).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { InputError } from '../../errors.js';
import { SegmentedFileMemory } from '../../memory/segmented-file.js';
import type { PhysicalMemory } from '../../memory/types.js';
import { parseElfCore, type RangeReader } from './elf-core.js';
import { LIME_MAGIC, parseLime } from './lime.js';
import type { SnapshotLayout } from './types.js';

export interface Snapshot {
  path: string;
  layout: SnapshotLayout;
  memory: PhysicalMemory;
  close(): void;
}

export interface OpenSnapshotOptions {
  /** Guest-physical address of a raw dump's first byte (default 0). Ignored for ELF and LiME. */
  ramBase?: bigint;
}

export function detectLayout(
  path: string,
  fileSize: number,
  read: RangeReader,
  options: OpenSnapshotOptions = {},
): SnapshotLayout {
  if (fileSize === 0)
    throw new InputError('the file is empty', path, { code: 'TRUNCATED', offset: 0 });
  const magic = read(0, Math.min(4, fileSize));
  const word = magic.length === 4 ? new DataView(magic.buffer, magic.byteOffset, 4) : undefined;
  if (word?.getUint32(0, false) === 0x7f454c46) return parseElfCore(path, fileSize, read);
  if (word?.getUint32(0, true) === LIME_MAGIC) return parseLime(path, fileSize, read);
  if (fileSize % 4096 !== 0) {
    throw new InputError(
      `not an ELF core or LiME file, and ${fileSize} bytes is not a whole number of pages for a raw dump`,
      path,
      { code: 'BAD_INPUT', offset: 0 },
    );
  }
  return {
    format: 'raw',
    architecture: 'unknown',
    segments: [{ physical: options.ramBase ?? 0n, fileOffset: 0, length: fileSize }],
    vcpus: [],
  };
}

export function openSnapshot(path: string, options: OpenSnapshotOptions = {}): Snapshot {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? 'no such file' : `cannot open (${code})`, path, {
      cause: error,
    });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new InputError('not a regular file', path);
    const read: RangeReader = (offset, length) => {
      const bytes = new Uint8Array(length);
      const got = readSync(fd, bytes, 0, length, offset);
      if (got !== length)
        throw new InputError(
          `file ends at ${offset + got}, wanted ${length} bytes at ${offset}`,
          path,
          { code: 'TRUNCATED', offset },
        );
      return bytes;
    };
    const layout = detectLayout(path, stat.size, read, options);
    const memory = new SegmentedFileMemory(path, layout.segments, fd, layout.entryFrame);
    return { path, layout, memory, close: () => memory.close() };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}
