// Parses a LiME dump: a sequence of (32-byte header, RAM range) records. Header: magic 0x4C694D45,
// version 1, start and inclusive end physical address, 8 reserved bytes.
import { InputError } from '../../errors.js';
import { refuseOverlaps, type RangeReader } from './elf-core.js';
import type { SnapshotLayout } from './types.js';

export const LIME_MAGIC = 0x4c694d45;
const HEADER_SIZE = 32;
const MAX_RANGES = 1 << 16;

export function parseLime(name: string, fileSize: number, read: RangeReader): SnapshotLayout {
  const layout: SnapshotLayout = {
    format: 'lime',
    architecture: 'unknown',
    segments: [],
    vcpus: [],
  };
  let offset = 0;
  while (offset < fileSize) {
    if (offset + HEADER_SIZE > fileSize) {
      throw new InputError(
        `LiME header at ${offset} is cut short (${fileSize - offset} bytes left)`,
        name,
        { code: 'TRUNCATED', offset },
      );
    }
    const headerBytes = read(offset, HEADER_SIZE);
    const header = new DataView(headerBytes.buffer, headerBytes.byteOffset, HEADER_SIZE);
    if (header.getUint32(0, true) !== LIME_MAGIC)
      throw new InputError(`bad LiME magic at ${offset}`, name, { offset });
    const version = header.getUint32(4, true);
    if (version !== 1)
      throw new InputError(`LiME version ${version} is not supported (only 1)`, name, {
        code: 'UNSUPPORTED',
        offset: offset + 4,
      });
    const start = header.getBigUint64(8, true);
    const end = header.getBigUint64(16, true);
    if (end < start)
      throw new InputError(
        `LiME range end 0x${end.toString(16)} is below its start 0x${start.toString(16)}`,
        name,
        { offset: offset + 16 },
      );
    const length = end - start + 1n;
    if (BigInt(offset + HEADER_SIZE) + length > BigInt(fileSize)) {
      throw new InputError(
        `LiME range 0x${start.toString(16)}–0x${end.toString(16)} needs ${length} bytes after offset ${offset + HEADER_SIZE}; the file ends first: truncated dump`,
        name,
        { code: 'TRUNCATED', offset },
      );
    }
    layout.segments.push({
      physical: start,
      fileOffset: offset + HEADER_SIZE,
      length: Number(length),
    });
    if (layout.segments.length > MAX_RANGES)
      throw new InputError(`more than ${MAX_RANGES} LiME ranges`, name, { offset });
    offset += HEADER_SIZE + Number(length);
  }
  if (layout.segments.length === 0)
    throw new InputError('empty LiME file', name, { code: 'TRUNCATED', offset: 0 });
  refuseOverlaps(name, layout.segments);
  return layout;
}
