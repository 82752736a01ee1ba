import fc from 'fast-check';
import { RecordSlab, coalesce, encodeRecord, parseRecord } from './record.js';

describe('queue records', () => {
  it('round-trip any id and body', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9a-f]{1,40}$/),
        fc.string({ unit: 'binary' }),
        (id, body) => {
          const parsed = parseRecord(encodeRecord({ id, body }), 0);
          expect(parsed).toEqual({
            kind: 'record',
            record: { id, body },
            bytes: expect.any(Number),
          });
        },
      ),
    );
  });

  it('report a truncated record as partial and a flipped bit as corrupt', () => {
    const bytes = encodeRecord({ id: 'abc', body: '{"x":1}' });
    expect(parseRecord(bytes.subarray(0, 5), 0)).toEqual({ kind: 'partial', need: 8 });
    expect(parseRecord(bytes.subarray(0, bytes.length - 1), 0)).toEqual({
      kind: 'partial',
      need: bytes.length,
    });
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 2]! ^= 1;
    expect(parseRecord(flipped, 0)).toEqual({ kind: 'corrupt', reason: 'checksum mismatch' });
  });
});

describe('RecordSlab', () => {
  it('encodes byte for byte as encodeRecord, records side by side, any size and script', () => {
    const slab = new RecordSlab(256);
    const records = [
      { id: 'a', body: '{"x":1}' },
      { id: 'ü-id', body: JSON.stringify({ name: 'prozeß ✓ 😀', n: 2 }) },
      { id: 'big', body: 'y'.repeat(1000) }, // larger than a slab: a slab of its own
      { id: 'c', body: '' },
    ];
    const encoded = records.map((record) => slab.encode(record));
    encoded.forEach((buffer, index) => expect(buffer).toEqual(encodeRecord(records[index]!)));
    const parsed = parseRecord(encoded[1]!, 0);
    expect(parsed).toEqual({ kind: 'record', record: records[1], bytes: encoded[1]!.length });
    // The first two share a slab; the big one starts a new slab, which the last one follows into.
    expect(coalesce(encoded).map((buffer) => buffer.length)).toEqual([
      encoded[0]!.length + encoded[1]!.length,
      encoded[2]!.length + encoded[3]!.length,
    ]);
    expect(Buffer.concat(coalesce(encoded))).toEqual(Buffer.concat(encoded));
  });
});
