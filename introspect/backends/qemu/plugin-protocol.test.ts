import {
  decodeMessage,
  encodeAttachRing,
  encodeGetStats,
  encodeSetExecHooks,
  HitKind,
  MessageType,
  type Hit,
  type Stats,
} from './plugin-protocol.js';

/** A hit frame body as the plugin writes it, with optional captures after the registers. */
function hitBody(kind: HitKind, captures?: (number[] | undefined)[]): Uint8Array {
  const parts: Buffer[] = [];
  const u8 = (value: number) => parts.push(Buffer.from([value]));
  const u32 = (value: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value);
    parts.push(b);
  };
  const u64 = (value: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(value);
    parts.push(b);
  };
  u8(MessageType.Hit);
  u32(7); // sequence
  u8(kind);
  u32(1); // vcpu
  u32(0); // view
  u32(3); // hook id
  u64(0n);
  u64(0n);
  u64(0n);
  u32(2);
  u64(0xffffffff81000000n);
  u64(42n);
  if (captures) {
    u8(captures.length);
    for (const capture of captures) {
      u8(capture ? 1 : 0);
      const b = Buffer.alloc(2);
      b.writeUInt16LE(capture?.length ?? 0);
      parts.push(b);
      if (capture) parts.push(Buffer.from(capture));
    }
  }
  return new Uint8Array(Buffer.concat(parts));
}

describe('plugin protocol: exec hooks with captures', () => {
  it('encodes flags, the differ pair and each capture with its pointer chain', () => {
    const frame = encodeSetExecHooks(5, [
      {
        address: 0xffffffff81234567n,
        id: 9,
        notify: true,
        differ: [0, 1],
        captures: [
          { register: 24, derefs: [0x1ad40, -8], offset: 0x10, length: 32 },
          { register: 6, derefs: [], offset: 4, length: 32 },
        ],
      },
    ]);
    const body = frame.subarray(4);
    expect(frame.readUInt32LE(0)).toBe(body.length);
    expect(body[0]).toBe(MessageType.SetExecHooks);
    expect(body.readUInt32LE(1)).toBe(5);
    expect(body.readUInt32LE(5)).toBe(1);
    expect(body.readBigUInt64LE(9)).toBe(0xffffffff81234567n);
    expect(body.readUInt32LE(17)).toBe(9);
    expect([...body.subarray(21, 25)]).toEqual([3, 0, 1, 2]); // notify|differ, a, b, count
    expect([body[25], body[26]]).toEqual([24, 2]); // register, derefs
    expect([body.readInt32LE(27), body.readInt32LE(31)]).toEqual([0x1ad40, -8]);
    expect([body.readInt32LE(35), body.readUInt16LE(39)]).toEqual([0x10, 32]);
    expect([body[41], body[42], body.readInt32LE(43), body.readUInt16LE(47)]).toEqual([
      6, 0, 4, 32,
    ]);
    expect(body.length).toBe(49);
  });

  it('refuses what the plugin cannot do, before sending it', () => {
    const hook = { address: 1n, id: 1 };
    expect(() =>
      encodeSetExecHooks(1, [
        { ...hook, captures: [{ register: 0, derefs: [1, 2, 3, 4, 5], offset: 0, length: 8 }] },
      ]),
    ).toThrow(/dereferences/);
    expect(() =>
      encodeSetExecHooks(1, [
        { ...hook, captures: [{ register: 0, derefs: [], offset: 0, length: 2000 }] },
      ]),
    ).toThrow(/1 to 1024 bytes/);
    expect(() => encodeSetExecHooks(1, [{ ...hook, differ: [0, 1], captures: [] }])).toThrow(
      /differ names a capture/,
    );
  });

  it('decodes a notify hit with its captures, a failed read as undefined', () => {
    const hit = decodeMessage(hitBody(HitKind.ExecNotify, [[1, 2, 3, 4], undefined])) as Hit;
    expect(hit.kind).toBe(HitKind.ExecNotify);
    expect(hit.registers).toEqual([0xffffffff81000000n, 42n]);
    expect(hit.captures).toEqual([Uint8Array.from([1, 2, 3, 4]), undefined]);
  });

  it('decodes a hit without captures as before', () => {
    const hit = decodeMessage(hitBody(HitKind.ExecHook)) as Hit;
    expect(hit.captures).toBeUndefined();
  });

  it('rejects a capture that runs past the frame', () => {
    const body = hitBody(HitKind.ExecNotify, [[1, 2, 3, 4]]);
    expect(() => decodeMessage(body.subarray(0, body.length - 2))).toThrow(/shorter/);
  });
});

describe('hit ring and hold statistics messages', () => {
  it('names the ring file in AttachRing (an empty path detaches) and can reset the hold samples', () => {
    const frame = encodeAttachRing(9, '/dev/shm/r');
    expect(frame.readUInt32LE(0)).toBe(frame.length - 4);
    expect(frame[4]).toBe(MessageType.AttachRing);
    expect(frame.readUInt32LE(5)).toBe(9);
    expect(frame.readUInt16LE(9)).toBe(10);
    expect(frame.subarray(11).toString()).toBe('/dev/shm/r');
    expect(encodeAttachRing(1, '').length).toBe(4 + 1 + 4 + 2);
    expect(() => encodeAttachRing(1, 'x'.repeat(5000))).toThrow(RangeError);
    expect([...encodeGetStats(3, true).subarray(4)]).toEqual([MessageType.GetStats, 3, 0, 0, 0, 1]);
  });

  it('reads the p99 and ring counters when the plugin sends them, zero from an older plugin', () => {
    const stats = (extra: bigint[]) => {
      const body = Buffer.alloc(1 + 4 + 8 * 6 + 4 + 8 * 3 + 8 * extra.length);
      body[0] = MessageType.Stats;
      let at = 5 + 8 * 6 + 4 + 8 * 3;
      for (const value of extra) at = body.writeBigUInt64LE(value, at);
      return decodeMessage(body) as Stats;
    };
    expect(stats([5000n, 600n, 12n, 1n])).toMatchObject({
      holdNanosP99: 5000n,
      holdSamples: 600n,
      ringHits: 12n,
      ringTimeouts: 1n,
    });
    expect(stats([])).toMatchObject({ holdNanosP99: 0n, ringHits: 0n, ringTimeouts: 0n });
  });
});
