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
    record: {
      id: payload.toString('utf8', 0, newline),
      body: payload.toString('utf8', newline + 1),
    },
    bytes: total,
  };
}
