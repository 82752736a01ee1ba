// The on-disk record of the durable queue: [u32 length][u32 crc32][id "\n" body], little-endian.
// The checksum finds a record torn by a crash; parsing is a pure function over bytes.
import { crc32 } from 'node:zlib';
import type { EncodedFinding } from '../types.js';

export const HEADER_BYTES = 8;

export function encodeRecord(record: EncodedFinding): Buffer {
  const payloadLength = Buffer.byteLength(record.id) + 1 + Buffer.byteLength(record.body);
  const buffer = Buffer.allocUnsafe(HEADER_BYTES + payloadLength);
  buffer.writeUInt32LE(payloadLength, 0);
  let offset = HEADER_BYTES + buffer.write(record.id, HEADER_BYTES, 'utf8');
  buffer[offset] = 0x0a;
  offset += 1;
  buffer.write(record.body, offset, 'utf8');
  buffer.writeUInt32LE(crc32(buffer.subarray(HEADER_BYTES)), 4);
  return buffer;
}

/**
 * Encodes records side by side into large slabs (what encodeRecord does, without a Buffer per record
 * nor a separate pass to measure the UTF-8 length): records appended one after the other are contiguous,
 * so a group is written with few iovecs. A slab stays alive while a record in it is referenced.
 */
export class RecordSlab {
  private slab = Buffer.allocUnsafe(0);
  private used = 0;

  constructor(private readonly slabBytes = 1 << 20) {}

  encode(record: EncodedFinding): Buffer {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const most = HEADER_BYTES + 3 * (record.id.length + 1 + record.body.length);
    if (this.used + most > this.slab.length) {
      this.slab = Buffer.allocUnsafe(Math.max(this.slabBytes, most));
      this.used = 0;
    }
    const slab = this.slab;
    const start = this.used;
    let offset = start + HEADER_BYTES;
    offset += slab.write(record.id, offset, 'utf8');
    slab[offset] = 0x0a;
    offset += 1;
    offset += slab.write(record.body, offset, 'utf8');
    slab.writeUInt32LE(offset - start - HEADER_BYTES, start);
    slab.writeUInt32LE(crc32(slab.subarray(start + HEADER_BYTES, offset)), start + 4);
    this.used = offset;
    return slab.subarray(start, offset);
  }
}

/** Buffers that follow each other in memory (slab records) merged, for fewer, larger writes. */
export function coalesce(buffers: readonly Buffer[]): Buffer[] {
  const merged: Buffer[] = [];
  let first: Buffer | undefined;
  let end = 0;
  const close = (): void => {
    if (first === undefined) return;
    merged.push(
      end === first.byteOffset + first.length
        ? first
        : Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset),
    );
  };
  for (const buffer of buffers) {
    if (first !== undefined && first.buffer === buffer.buffer && end === buffer.byteOffset) {
      end += buffer.length;
      continue;
    }
    close();
    first = buffer;
    end = buffer.byteOffset + buffer.length;
  }
  close();
  return merged;
}

/**
 * A record read back from the queue: its id, and its body as the bytes on disk, decoded only if a
 * destination asks for the text (the Elasticsearch one sends the bytes as they are).
 */
export class QueuedRecord implements EncodedFinding {
  private text: string | undefined;

  constructor(
    readonly id: string,
    readonly bytes: Buffer,
  ) {}

  get body(): string {
    return (this.text ??= this.bytes.toString('utf8'));
  }

  /** The same record, its bytes now at the same place in `to` as they were in `from`. */
  moved(from: Buffer, to: Buffer): QueuedRecord {
    const start = this.bytes.byteOffset - from.byteOffset;
    return new QueuedRecord(this.id, to.subarray(start, start + this.bytes.length));
  }
}

export type ParsedRecord =
  | { kind: 'record'; record: EncodedFinding; bytes: number }
  /** More bytes are needed: `need` is the full size of the record that starts here. */
  | { kind: 'partial'; need: number }
  | { kind: 'corrupt'; reason: string };

/**
 * Parses the record at `offset`; never throws. `verify: false` skips the checksum, for records the
 * queue already verified (at open) or wrote itself in this run.
 */
export function parseRecord(buffer: Buffer, offset: number, verify = true): ParsedRecord {
  const parsed = parseRecordBytes(buffer, offset, verify);
  return parsed.kind === 'record'
    ? {
        kind: 'record',
        record: { id: parsed.record.id, body: parsed.record.body },
        bytes: parsed.bytes,
      }
    : parsed;
}

/**
 * As parseRecord, but the record's body stays bytes (a view of `buffer`, which must then not be
 * reused while the record is).
 */
export function parseRecordBytes(
  buffer: Buffer,
  offset: number,
  verify = true,
):
  | { kind: 'record'; record: QueuedRecord; bytes: number }
  | Exclude<ParsedRecord, { kind: 'record' }> {
  if (buffer.length - offset < HEADER_BYTES) return { kind: 'partial', need: HEADER_BYTES };
  const payloadLength = buffer.readUInt32LE(offset);
  const total = HEADER_BYTES + payloadLength;
  if (buffer.length - offset < total) return { kind: 'partial', need: total };
  const payload = buffer.subarray(offset + HEADER_BYTES, offset + total);
  if (verify && crc32(payload) !== buffer.readUInt32LE(offset + 4))
    return { kind: 'corrupt', reason: 'checksum mismatch' };
  const newline = payload.indexOf(0x0a);
  if (newline < 0) return { kind: 'corrupt', reason: 'no id separator' };
  return {
    kind: 'record',
    record: new QueuedRecord(payload.toString('utf8', 0, newline), payload.subarray(newline + 1)),
    bytes: total,
  };
}
