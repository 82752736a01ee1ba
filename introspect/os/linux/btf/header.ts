// Reads and checks the BTF header: magic (which also gives the byte order), version, and the type
// and string sections, which must lie inside the bytes given.
import { InputError } from '../../../errors.js';
import { BTF_HEADER_SIZE, BTF_MAGIC } from './format.js';

export interface BtfHeader {
  littleEndian: boolean;
  version: number;
  flags: number;
  headerLength: number;
  /** Absolute byte range of the type section in the input. */
  typeStart: number;
  typeEnd: number;
  /** Absolute byte range of the string section in the input. */
  stringStart: number;
  stringEnd: number;
}

/**
 * The length a BTF blob declares in its header: read the first 24 bytes of `.BTF` from guest memory,
 * then exactly this many. Checks the magic and version; the caller bounds the answer (a hostile
 * header can declare up to ~8 GiB).
 */
export function declaredBtfLength(head: Uint8Array, source = 'BTF'): number {
  const header = readBtfHeader(head, source, false);
  return Math.max(header.headerLength, header.typeEnd, header.stringEnd);
}

export function readBtfHeader(bytes: Uint8Array, source: string, complete = true): BtfHeader {
  if (bytes.length < BTF_HEADER_SIZE) {
    throw new InputError(
      `BTF is ${bytes.length} bytes, shorter than its ${BTF_HEADER_SIZE}-byte header`,
      source,
      { code: 'TRUNCATED', offset: 0 },
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let littleEndian: boolean;
  if (view.getUint16(0, true) === BTF_MAGIC) littleEndian = true;
  else if (view.getUint16(0, false) === BTF_MAGIC) littleEndian = false;
  else {
    const found = view.getUint16(0, true).toString(16).padStart(4, '0');
    throw new InputError(`bad BTF magic 0x${found} (expected 0xeb9f)`, source, { offset: 0 });
  }
  const version = view.getUint8(2);
  if (version !== 1) {
    throw new InputError(`BTF version ${version} is not supported (only 1)`, source, {
      code: 'UNSUPPORTED',
      offset: 2,
    });
  }
  const flags = view.getUint8(3);
  const headerLength = view.getUint32(4, littleEndian);
  const typeOffset = view.getUint32(8, littleEndian);
  const typeLength = view.getUint32(12, littleEndian);
  const stringOffset = view.getUint32(16, littleEndian);
  const stringLength = view.getUint32(20, littleEndian);
  if (headerLength < BTF_HEADER_SIZE || (complete && headerLength > bytes.length)) {
    throw new InputError(
      `BTF header length ${headerLength} is outside 24..${bytes.length}`,
      source,
      { offset: 4 },
    );
  }
  // Offsets count from the end of the header; the sums stay below 2^34, exact in a double.
  const typeStart = headerLength + typeOffset;
  const typeEnd = typeStart + typeLength;
  const stringStart = headerLength + stringOffset;
  const stringEnd = stringStart + stringLength;
  const header = {
    littleEndian,
    version,
    flags,
    headerLength,
    typeStart,
    typeEnd,
    stringStart,
    stringEnd,
  };
  if (!complete) return header;
  if (typeEnd > bytes.length) {
    throw new InputError(
      `BTF type section [${typeStart}, ${typeEnd}) runs past the end (${bytes.length} bytes)`,
      source,
      { code: 'TRUNCATED', offset: 8 },
    );
  }
  if (stringEnd > bytes.length) {
    throw new InputError(
      `BTF string section [${stringStart}, ${stringEnd}) runs past the end (${bytes.length} bytes)`,
      source,
      { code: 'TRUNCATED', offset: 16 },
    );
  }
  if (typeStart < stringEnd && stringStart < typeEnd && typeLength > 0 && stringLength > 0) {
    throw new InputError('BTF type and string sections overlap', source, { offset: 8 });
  }
  return header;
}
