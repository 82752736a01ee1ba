import { InputError } from '../../../errors.js';
import { parseBtf } from './btf-type-table.js';
import { declaredBtfLength } from './header.js';
import { BtfBuilder } from './test-support/btf-builder.js';
import { kernelLike } from './test-support/kernel-like.js';

describe('parseBtf: every kind', () => {
  it('decodes ints with signedness, char and bool encodings, and floats', () => {
    const { b, ids } = kernelLike();
    const double = b.float('double', 8);
    const table = parseBtf(b.build());
    expect(table.get(ids.int)).toEqual({ kind: 'int', name: 'int', size: 4, signed: true });
    expect(table.get(ids.uint)).toEqual({
      kind: 'int',
      name: 'unsigned int',
      size: 4,
      signed: false,
    });
    expect(table.get(ids.char)).toMatchObject({ kind: 'int', char: true, signed: true });
    expect(table.get(ids.bool)).toMatchObject({ kind: 'int', bool: true, size: 1 });
    expect(table.get(double)).toEqual({ kind: 'float', name: 'double', size: 8 });
    expect(table.get(0)).toEqual({ kind: 'void' });
  });

  it('decodes pointers, arrays, structs, unions, typedefs, qualifiers and forwards', () => {
    const { b, ids } = kernelLike();
    const volatileInt = b.qualifier('volatile', ids.int);
    const restrictPointer = b.qualifier('restrict', ids.listPointer);
    const tagged = b.qualifier('type_tag', ids.listPointer, 'user');
    const table = parseBtf(b.build());
    expect(table.get(ids.listPointer)).toEqual({ kind: 'pointer', target: ids.listHead });
    expect(table.get(ids.comm)).toEqual({ kind: 'array', element: ids.char, count: 16 });
    expect(table.get(ids.listHead)).toEqual({
      kind: 'struct',
      name: 'list_head',
      size: 16,
      members: [
        { name: 'next', type: ids.listPointer, bitOffset: 0, bitSize: 0 },
        { name: 'prev', type: ids.listPointer, bitOffset: 64, bitSize: 0 },
      ],
    });
    expect(table.get(ids.anonymousUnion)).toMatchObject({ kind: 'union', name: '', size: 16 });
    expect(table.get(ids.kuid)).toEqual({
      kind: 'typedef',
      name: 'kuid_t',
      target: ids.kuidStruct,
    });
    expect(table.get(ids.constKuid)).toEqual({
      kind: 'qualifier',
      qualifier: 'const',
      target: ids.kuid,
    });
    expect(table.get(volatileInt)).toMatchObject({ qualifier: 'volatile', target: ids.int });
    expect(table.get(restrictPointer)).toMatchObject({ qualifier: 'restrict' });
    expect(table.get(tagged)).toMatchObject({ qualifier: 'type_tag', target: ids.listPointer });
    expect(table.get(ids.fwd)).toEqual({ kind: 'forward', name: 'mm_struct', union: false });
    expect(table.get(ids.fwdUnion)).toEqual({ kind: 'forward', name: 'some_union', union: true });
    expect(table.kindName(ids.fwd)).toBe('fwd');
    expect(table.nameOf(ids.listHead)).toBe('list_head');
  });

  it('decodes enums (unsigned and signed) and 64-bit enums', () => {
    const b = new BtfBuilder();
    const plain = b.enum('pid_type', 4, [
      ['PIDTYPE_PID', 0],
      ['PIDTYPE_MAX', 4],
      ['BIG', 0xffffffff],
    ]);
    const signed = b.enum('negative', 4, [['MINUS_ONE', -1]], true);
    const wide = b.enum64('wide', 8, [
      ['HIGH', 0x1_0000_0001n],
      ['TOP', 0xffff_ffff_ffff_fffen],
    ]);
    const wideSigned = b.enum64('wide_signed', 8, [['MINUS_TWO', -2n]], true);
    const table = parseBtf(b.build());
    expect(table.get(plain)).toEqual({
      kind: 'enum',
      name: 'pid_type',
      size: 4,
      signed: false,
      values: [
        { name: 'PIDTYPE_PID', value: 0n },
        { name: 'PIDTYPE_MAX', value: 4n },
        { name: 'BIG', value: 0xffffffffn },
      ],
    });
    expect(table.get(signed)).toMatchObject({ signed: true, values: [{ value: -1n }] });
    expect(table.get(wide)).toMatchObject({
      values: [{ value: 0x1_0000_0001n }, { value: 0xffff_ffff_ffff_fffen }],
    });
    expect(table.get(wideSigned)).toMatchObject({ values: [{ value: -2n }] });
    expect(table.sizeOf(wide)).toBe(8);
  });

  it('decodes functions, prototypes, variables, data sections and declaration tags', () => {
    const { b, ids } = kernelLike();
    const proto = b.funcProto(ids.int, [{ name: 'task', type: b.pointer(ids.task) }]);
    const func = b.func('do_exit', proto);
    const variable = b.variable('runqueues', ids.listHead);
    const section = b.datasec('.data..percpu', 16, [{ type: variable, offset: 0, size: 16 }]);
    const tag = b.declTag('user', func, 0);
    const table = parseBtf(b.build());
    expect(table.get(func)).toEqual({ kind: 'function', name: 'do_exit' });
    expect(table.get(proto)).toEqual({ kind: 'function', name: '' });
    expect(table.findFunction('do_exit')).toBe(func);
    expect(table.findFunction('missing')).toBeUndefined();
    expect(table.findVariable('runqueues')).toEqual({
      id: variable,
      name: 'runqueues',
      type: ids.listHead,
      linkage: 1,
    });
    expect(table.variables().get('runqueues')?.type).toBe(ids.listHead);
    expect(table.findVariable('missing')).toBeUndefined();
    // Annotations are not data types: void through get(), absent from ids(), named by kindName().
    for (const id of [variable, section, tag]) expect(table.get(id)).toEqual({ kind: 'void' });
    expect(table.kindName(section)).toBe('datasec');
    expect(table.dataSections()).toEqual(
      new Map([
        ['.data..percpu', [{ variable: table.findVariable('runqueues'), offset: 0, size: 16 }]],
      ]),
    );
    expect(table.kindName(tag)).toBe('decl_tag');
    const all = [...table.ids()];
    expect(all).toContain(func);
    expect(all).not.toContain(variable);
    expect(all).not.toContain(section);
    expect(all).not.toContain(tag);
    expect(all.length).toBe(table.count - 3);
  });

  it('reads big-endian BTF', () => {
    const { b, ids } = kernelLike();
    const table = parseBtf(b.build({ bigEndian: true }));
    expect(table.header.littleEndian).toBe(false);
    expect(table.field('task_struct', 'cred')?.offset).toBe(24);
    expect(table.get(ids.int)).toMatchObject({ size: 4, signed: true });
  });

  it('tells from the first 24 bytes how long the whole BTF is', () => {
    const { b } = kernelLike();
    const bytes = b.build();
    expect(declaredBtfLength(bytes.subarray(0, 24))).toBe(bytes.length);
    expect(declaredBtfLength(b.build({ headerLength: 32 }).subarray(0, 24))).toBe(bytes.length + 8);
    expect(() => declaredBtfLength(bytes.subarray(0, 12))).toThrow(
      /shorter than its 24-byte header/,
    );
    expect(() => declaredBtfLength(b.build({ magic: 0xbeef }))).toThrow(/bad BTF magic/);
  });

  it('honours a header longer than 24 bytes', () => {
    const { b } = kernelLike();
    expect(parseBtf(b.build({ headerLength: 32 })).field('cred', 'uid.val')?.offset).toBe(4);
  });
});

describe('parseBtf: look-ups', () => {
  const { b, ids } = kernelLike();
  const table = parseBtf(b.build());

  it('finds structs by name, and anonymous structs through their typedef', () => {
    expect(table.findStruct('task_struct')).toBe(ids.task);
    expect(table.findStruct('kuid_t')).toBe(ids.kuidStruct);
    expect(table.findStruct('pgd_t')).toBeUndefined();
    expect(table.findStruct('mm_struct')).toBeUndefined(); // only a forward declaration
    expect(table.findStruct('nothing')).toBeUndefined();
    expect(table.findStruct('')).toBeUndefined();
    expect(table.findTypes('mm_struct')).toEqual([ids.fwd]);
    expect(table.findTypes('kuid_t', 'typedef')).toEqual([ids.kuid]);
  });

  it('resolves typedef and qualifier chains and sizes every kind', () => {
    expect(table.resolve(ids.constKuid)).toBe(ids.kuidStruct);
    expect(table.resolve(ids.int)).toBe(ids.int);
    expect(table.sizeOf(ids.constKuid)).toBe(4);
    expect(table.sizeOf(ids.comm)).toBe(16);
    expect(table.sizeOf(ids.listPointer)).toBe(8);
    expect(table.sizeOf(ids.task)).toBe(96);
    expect(table.sizeOf(ids.fwd)).toBe(0);
    expect(table.sizeOf(0)).toBe(0);
    expect(parseBtf(b.build(), { pointerSize: 4 }).sizeOf(ids.listPointer)).toBe(4);
  });

  it('sizes arrays of arrays through typedefs', () => {
    const builder = new BtfBuilder();
    const short = builder.int('short', 2, { signed: true });
    const row = builder.typedef('row_t', builder.array(short, 3));
    const matrix = builder.array(row, 5);
    expect(parseBtf(builder.build()).sizeOf(matrix)).toBe(30);
  });

  it('locates fields: nested paths, typedef’d structs, anonymous members, bitfields, indices', () => {
    expect(table.field('task_struct', 'tasks')).toEqual({
      offset: 8,
      type: ids.listHead,
      bitOffset: 64,
      bitSize: 0,
    });
    expect(table.field('task_struct', 'tasks.prev')).toMatchObject({
      offset: 16,
      type: ids.listPointer,
    });
    expect(table.field('cred', 'uid.val')).toEqual({
      offset: 4,
      type: ids.uint,
      bitOffset: 32,
      bitSize: 0,
    });
    expect(table.field('cred', 'euid.val')?.offset).toBe(8);
    expect(table.field('kuid_t', 'val')?.offset).toBe(0);
    // Through an anonymous union and an anonymous struct inside it.
    expect(table.field('task_struct', 'rcu_users')).toMatchObject({ offset: 48, type: ids.int });
    expect(table.field('task_struct', 'rcu.next')).toMatchObject({
      offset: 48,
      type: ids.listPointer,
    });
    expect(table.field('task_struct', 'in_iowait')).toEqual({
      offset: 4,
      type: ids.uint,
      bitOffset: 33,
      bitSize: 1,
    });
    expect(table.field('task_struct', 'comm[3]')).toMatchObject({ offset: 35, type: ids.char });
    expect(table.field('task_struct', 'pid_links[2].prev')).toMatchObject({ offset: 64 + 40 });
    expect(table.field('task_struct', 'exiting')).toMatchObject({ offset: 80, type: ids.bool });
  });

  it('answers undefined for paths that do not exist', () => {
    expect(table.field('task_struct', 'nope')).toBeUndefined();
    expect(table.field('task_struct', 'cred.uid')).toBeUndefined(); // cred is a pointer
    expect(table.field('task_struct', 'comm[16]')).toBeUndefined();
    expect(table.field('task_struct', 'tasks[0]')).toBeUndefined();
    expect(table.field('task_struct', '')).toBeUndefined();
    expect(table.field('task_struct', 'tasks..next')).toBeUndefined();
    expect(table.field('no_such_struct', 'tasks')).toBeUndefined();
  });

  it('reads bitfields in the encoding without kind_flag (a narrow INT member)', () => {
    const builder = new BtfBuilder();
    const threeBits = builder.int('unsigned int', 4, { bits: 3, offset: 2 });
    builder.struct('flags', 4, [{ name: 'mode', type: threeBits, bitOffset: 8 }]);
    expect(parseBtf(builder.build()).field('flags', 'mode')).toMatchObject({
      offset: 1,
      bitOffset: 10,
      bitSize: 3,
    });
  });
});

describe('parseBtf: hostile input', () => {
  const expectInputError = (action: () => unknown, pattern: RegExp): void => {
    let caught: unknown;
    try {
      action();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InputError);
    expect((caught as Error).message).toMatch(pattern);
  };

  it('rejects bad headers with an error naming the input', () => {
    const { b } = kernelLike();
    expectInputError(
      () => parseBtf(new Uint8Array(10), { source: 'guest .BTF' }),
      /guest \.BTF: .*shorter/,
    );
    expectInputError(() => parseBtf(b.build({ magic: 0x1234 })), /bad BTF magic 0x1234/);
    expectInputError(() => parseBtf(b.build({ version: 2 })), /version 2/);
    expectInputError(() => parseBtf(b.build({ headerLength: 8 })), /header length 8/);
    expectInputError(() => parseBtf(b.build({ headerLength: 0xffffffff })), /header length/);
    expectInputError(
      () => parseBtf(b.build({ typeLengthDelta: 1 << 30 })),
      /type section .* past the end/,
    );
    expectInputError(
      () => parseBtf(b.build({ stringLengthDelta: 1 << 30 })),
      /string section .* past the end/,
    );
  });

  it('rejects a record cut off by the end of the type section, and unknown kinds', () => {
    const { b } = kernelLike();
    expectInputError(
      () => parseBtf(b.build({ typeLengthDelta: -4 })),
      /past the end of the type section|cut off/,
    );
    const cut = new BtfBuilder();
    cut.raw(0, (4 << 24) | 0xffff, 8, []); // a struct announcing 65535 members, holding none
    expectInputError(() => parseBtf(cut.build()), /needs 786432 bytes/);
    const unknown = new BtfBuilder();
    unknown.raw(0, 25 << 24, 0);
    expectInputError(() => parseBtf(unknown.build()), /unknown kind 25/);
  });

  it('rejects type ids out of range and names past the string section', () => {
    const builder = new BtfBuilder();
    const pointer = builder.pointer(99);
    const bad = builder.struct('bad', 8, [{ name: 'p', type: 1234, bitOffset: 0 }]);
    const badName = builder.raw(0x7fffffff, 1 << 24, 4, [32]);
    const table = parseBtf(builder.build());
    expectInputError(() => table.get(pointer), /refers to type 99/);
    expectInputError(() => table.field('bad', 'p'), /refers to type 1234/);
    expectInputError(() => table.get(badName), /name offset 2147483647/);
    expectInputError(() => table.get(bad + 100), /type id \d+ is out of range/);
    expectInputError(() => table.get(-1), /out of range/);
    expect(table.findStruct('bad')).toBe(bad);
  });

  it('rejects a name without a terminating NUL', () => {
    const builder = new BtfBuilder();
    builder.int('int', 4);
    const bytes = builder.build();
    bytes[bytes.length - 1] = 0x41; // overwrite the NUL after "int"
    expectInputError(() => parseBtf(bytes).get(1), /no terminating NUL/);
    expect(parseBtf(bytes).findStruct('int')).toBeUndefined();
  });

  it('detects typedef cycles and array cycles instead of hanging', () => {
    const builder = new BtfBuilder();
    const first = builder.nextId;
    builder.typedef('a', first + 1);
    builder.typedef('b', first);
    const selfArray = builder.nextId;
    builder.array(selfArray, 2);
    const table = parseBtf(builder.build());
    expectInputError(() => table.resolve(first), /does not end/);
    expectInputError(() => table.sizeOf(first), /does not end/);
    expectInputError(() => table.sizeOf(selfArray), /nests more than/);
    expectInputError(() => table.findStruct('a'), /does not end/);
  });

  it('rejects absurd sizes', () => {
    const builder = new BtfBuilder();
    const huge = builder.struct('huge', 0xffffffff, []);
    const inner = builder.array(huge, 0xffffffff);
    const table = parseBtf(builder.build());
    expect(table.sizeOf(huge)).toBe(0xffffffff);
    expectInputError(() => table.sizeOf(inner), /absurd size/);
  });

  it('bounds the search through self-referencing anonymous members', () => {
    const builder = new BtfBuilder();
    const self = builder.nextId;
    const members = Array.from({ length: 40 }, (_, index) => ({
      name: '',
      type: self,
      bitOffset: index,
    }));
    builder.struct('loop', 8, members);
    const table = parseBtf(builder.build());
    expect(table.field('loop', 'missing')).toBeUndefined();
  });
});
