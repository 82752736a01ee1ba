import fc from 'fast-check';
import { encodeRecord, parseRecord } from './record.js';

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
