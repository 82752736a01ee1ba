import fc from 'fast-check';
import { isRingsideError } from '../../../errors.js';
import { BTF_MAGIC } from './format.js';
import { parseBtf } from './btf-type-table.js';
import { BtfBuilder } from './test-support/btf-builder.js';

/** Parses and then asks everything of the table; only Ringside errors may escape. */
function exercise(bytes: Uint8Array): void {
  const attempt = (action: () => unknown): void => {
    try {
      action();
    } catch (error) {
      if (!isRingsideError(error)) throw error;
    }
  };
  attempt(() => {
    const table = parseBtf(bytes, { source: 'fuzzed BTF' });
    for (let id = 0; id < Math.min(table.count, 2000); id++) {
      attempt(() => table.get(id));
      attempt(() => table.resolve(id));
      attempt(() => table.sizeOf(id));
      attempt(() => table.nameOf(id));
      attempt(() => table.kindName(id));
    }
    attempt(() => [...table.ids()]);
    attempt(() => table.variables());
    attempt(() => table.dataSections());
    for (let id = 0; id < Math.min(table.count, 200); id++) attempt(() => table.prototypeOf(id));
    for (const name of ['a', 'b', 'task_struct', 'list_head', 'int', 'x']) {
      attempt(() => table.findStruct(name));
      attempt(() => table.findTypes(name));
      attempt(() => table.findVariable(name));
      attempt(() => table.findFunction(name));
      for (const path of ['a', 'b', 'a.b', 'tasks.next', 'x[1].a'])
        attempt(() => table.field(name, path));
    }
  });
}

/** Structurally plausible records with random kinds, counts and references (cycles included). */
const record = fc.record({
  name: fc.constantFrom('', 'a', 'b', 'task_struct', 'list_head', 'int', 'x'),
  kind: fc.integer({ min: 0, max: 21 }),
  vlen: fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constant(0xffff)),
  kindFlag: fc.boolean(),
  sizeOrType: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.nat(), fc.constant(0xffffffff)),
  trailing: fc.array(fc.oneof(fc.integer({ min: 0, max: 12 }), fc.nat()), { maxLength: 16 }),
});

type FuzzRecord = typeof record extends fc.Arbitrary<infer T> ? T : never;

function buildRecords(records: FuzzRecord[]): Uint8Array {
  const builder = new BtfBuilder();
  for (const r of records) {
    const info = ((r.kindFlag ? 1 : 0) << 31) | (r.kind << 24) | r.vlen;
    builder.raw(builder.string(r.name), info, r.sizeOrType, r.trailing);
  }
  return builder.build();
}

function sample(): Uint8Array {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const selfPointer = b.pointer(b.nextId + 1);
  const list = b.struct('list_head', 16, [
    { name: 'next', type: selfPointer, bitOffset: 0 },
    { name: 'prev', type: selfPointer, bitOffset: 64 },
  ]);
  const anonymous = b.union('', 4, [{ name: 'b', type: int, bitOffset: 0 }]);
  b.struct(
    'task_struct',
    40,
    [
      { name: 'a', type: int, bitOffset: 0, bitSize: 3 },
      { name: '', type: anonymous, bitOffset: 32 },
      { name: 'tasks', type: list, bitOffset: 64 },
      { name: 'x', type: b.array(list, 1), bitOffset: 192 },
    ],
    true,
  );
  b.enum64('e', 8, [['E', -1n]], true);
  b.typedef('x', b.qualifier('const', list));
  b.funcProto(int, [{ name: 'a', type: int }]);
  b.variable('a', int);
  return b.build();
}

describe('parseBtf on hostile bytes (property-based)', () => {
  it('random bytes behind a valid magic give Ringside errors or a table, never a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.boolean(), (bytes, magic) => {
        if (magic && bytes.length >= 4) {
          new DataView(bytes.buffer, bytes.byteOffset).setUint16(0, BTF_MAGIC, true);
          bytes[2] = 1;
        }
        exercise(bytes);
      }),
      { numRuns: 400 },
    );
  });

  it('random record streams (cycles, wild ids, huge counts) are handled', () => {
    fc.assert(
      fc.property(fc.array(record, { maxLength: 40 }), (records) =>
        exercise(buildRecords(records)),
      ),
      { numRuns: 400 },
    );
  });

  it('a valid BTF with corrupted bytes is handled', () => {
    const original = sample();
    expect(parseBtf(original).field('task_struct', 'tasks.prev')?.offset).toBe(16);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: original.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        (patches) => {
          const bytes = original.slice();
          for (const [index, value] of patches) bytes[index] = value;
          exercise(bytes);
        },
      ),
      { numRuns: 600 },
    );
  });

  it('stays fast on a string section without NULs and many types naming into it', () => {
    const builder = new BtfBuilder();
    const long = builder.string('y'.repeat(100_000));
    for (let index = 0; index < 5_000; index++) builder.raw(long + index * 16, 4 << 24, 8);
    const last = builder.raw(long + 99_900, 4 << 24, 8);
    const bytes = builder.build();
    bytes.fill(0x79, bytes.length - 2); // lose the final NUL
    const started = performance.now();
    const table = parseBtf(bytes);
    expect(table.findStruct('y')).toBeUndefined();
    expect(table.findTypes('y'.repeat(512))).toEqual([]);
    expect(table.findVariable('y')).toBeUndefined();
    expect(() => table.nameOf(1)).toThrow(/longer than 512 bytes/);
    expect(() => table.nameOf(last)).toThrow(/no terminating NUL/);
    // Bounded work is ~5000 x 513 bytes; reading each name to its end would be ~1000 times more.
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
