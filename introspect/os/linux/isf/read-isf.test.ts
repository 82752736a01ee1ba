import { InputError } from '../../../errors.js';
import { parseIsf, readIsf } from './read-isf.js';

/** A small ISF shaped as dwarf2json writes it. */
const ISF = `{
  "metadata": {"format": "6.2.0", "producer": {"name": "dwarf2json", "version": "0.9.0"}},
  "base_types": {
    "void": {"size": 0, "signed": false, "kind": "void", "endian": "little"},
    "pointer": {"size": 8, "signed": false, "kind": "int", "endian": "little"},
    "int": {"size": 4, "signed": true, "kind": "int", "endian": "little"},
    "unsigned int": {"size": 4, "signed": false, "kind": "int", "endian": "little"},
    "char": {"size": 1, "signed": true, "kind": "char", "endian": "little"},
    "_Bool": {"size": 1, "signed": true, "kind": "bool", "endian": "little"},
    "double": {"size": 8, "signed": true, "kind": "float", "endian": "little"}
  },
  "user_types": {
    "list_head": {"kind": "struct", "size": 16, "fields": {
      "next": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "list_head"}}, "offset": 0},
      "prev": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "list_head"}}, "offset": 8}}},
    "kuid_t": {"kind": "struct", "size": 4, "fields": {
      "val": {"type": {"kind": "base", "name": "unsigned int"}, "offset": 0}}},
    "unnamed_c609722c78b2d77c": {"kind": "union", "size": 16, "fields": {
      "rcu": {"type": {"kind": "struct", "name": "list_head"}, "offset": 0},
      "rcu_users": {"type": {"kind": "base", "name": "int"}, "offset": 0}}},
    "task_struct": {"kind": "struct", "size": 64, "fields": {
      "state": {"type": {"kind": "enum", "name": "task_state"}, "offset": 0},
      "in_execve": {"type": {"kind": "bitfield", "bit_length": 1, "bit_position": 2,
                    "type": {"kind": "base", "name": "unsigned int"}}, "offset": 5},
      "tasks": {"type": {"kind": "struct", "name": "list_head"}, "offset": 8},
      "comm": {"type": {"kind": "array", "count": 16, "subtype": {"kind": "base", "name": "char"}}, "offset": 24},
      "unnamed_field_0": {"type": {"kind": "union", "name": "unnamed_c609722c78b2d77c"}, "offset": 40, "anonymous": true},
      "uid": {"type": {"kind": "struct", "name": "kuid_t"}, "offset": 56},
      "mm": {"type": {"kind": "pointer", "subtype": {"kind": "struct", "name": "mm_struct"}}, "offset": 48},
      "fn": {"type": {"kind": "pointer", "subtype": {"kind": "function"}}, "offset": 60}}}
  },
  "enums": {
    "task_state": {"size": 4, "base": "unsigned int", "constants": {"RUNNING": 0, "BLOCKED": 2}}
  },
  "symbols": {
    "": {"type": {"kind": "base", "name": "void"}, "address": 0},
    "init_task": {"type": {"kind": "struct", "name": "task_struct"}, "address": 18446744071606217280},
    "do_exit": {"type": {"kind": "base", "name": "void"}, "address": 18446744071579402240},
    "runqueues": {"type": {"kind": "struct", "name": "list_head"}, "address": 203136},
    "linux_banner": {"type": {"count": 0, "kind": "array", "subtype": {"kind": "base", "name": "char"}},
      "address": 18446744071596802016, "constant_data": "TGludXggdmVyc2lvbiA2LjEuMAoA"}
  }
}`;

describe('parseIsf', () => {
  const profile = parseIsf(ISF, { source: 'test.json' });
  const { types } = profile;

  it('gives field offsets, through anonymous members, bitfields and arrays', () => {
    expect(types.field('task_struct', 'tasks')).toMatchObject({ offset: 8, bitSize: 0 });
    expect(types.field('task_struct', 'tasks.prev')?.offset).toBe(16);
    expect(types.field('task_struct', 'rcu_users')?.offset).toBe(40);
    expect(types.field('task_struct', 'rcu.next')?.offset).toBe(40);
    expect(types.field('task_struct', 'uid.val')?.offset).toBe(56);
    expect(types.field('task_struct', 'in_execve')).toMatchObject({
      offset: 5,
      bitOffset: 42,
      bitSize: 1,
    });
    expect(types.field('task_struct', 'comm[2]')?.offset).toBe(26);
    expect(types.field('task_struct', 'unnamed_field_0')).toBeUndefined();
    expect(types.field('nothing', 'tasks')).toBeUndefined();
  });

  it('maps every kind of type', () => {
    const get = (path: string) => types.get(types.field('task_struct', path)!.type);
    expect(get('comm')).toMatchObject({ kind: 'array', count: 16 });
    expect(types.get((get('comm') as { element: number }).element)).toMatchObject({
      kind: 'int',
      char: true,
      size: 1,
      signed: true,
    });
    expect(get('state')).toEqual({
      kind: 'enum',
      name: 'task_state',
      size: 4,
      signed: false,
      values: [
        { name: 'RUNNING', value: 0n },
        { name: 'BLOCKED', value: 2n },
      ],
    });
    const mm = get('mm');
    expect(mm).toMatchObject({ kind: 'pointer' });
    // mm_struct is not in the ISF: a forward declaration stands in for it.
    expect(types.get((mm as { target: number }).target)).toEqual({
      kind: 'forward',
      name: 'mm_struct',
      union: false,
    });
    expect(types.get((get('fn') as { target: number }).target)).toEqual({
      kind: 'function',
      name: '',
    });
    expect(types.get(types.findBase('_Bool')!)).toMatchObject({ kind: 'int', bool: true });
    expect(types.get(types.findBase('double')!)).toEqual({
      kind: 'float',
      name: 'double',
      size: 8,
    });
    expect(types.get(types.findBase('void')!)).toEqual({ kind: 'void' });
    expect(types.findEnum('task_state')).toBeDefined();
    // Equal descriptors share one id.
    expect(types.field('list_head', 'next')!.type).toBe(types.field('list_head', 'prev')!.type);
  });

  it('sizes types', () => {
    expect(types.sizeOf(types.findStruct('task_struct')!)).toBe(64);
    expect(types.sizeOf(types.field('task_struct', 'comm')!.type)).toBe(16);
    expect(types.sizeOf(types.field('task_struct', 'mm')!.type)).toBe(8);
    expect(types.resolve(5)).toBe(5);
    expect([...types.ids()].length).toBeGreaterThan(10);
  });

  it('reads symbols, their types and the banner', () => {
    expect(profile.format).toBe('6.2.0');
    expect(profile.banner).toBe('Linux version 6.1.0\n');
    expect(profile.symbols.address('init_task')).toBe(18446744071606217280n);
    expect(profile.symbols.address('')).toBeUndefined();
    expect(profile.symbols.size).toBe(4);
    expect(types.get(profile.symbolType('init_task')!)).toMatchObject({ name: 'task_struct' });
    expect(profile.symbolType('nothing')).toBeUndefined();
  });

  it('applies the KASLR slide to kernel addresses only', () => {
    const slid = parseIsf(ISF, { slide: 0x2a00000n });
    expect(slid.symbols.address('init_task')).toBe(18446744071606217280n + 0x2a00000n);
    expect(slid.symbols.address('runqueues')).toBe(203136n);
    expect(slid.symbols.nearest(18446744071579402240n + 0x2a00010n)?.symbol.name).toBe('do_exit');
  });
});

describe('parseIsf on bad input', () => {
  const broken = (mutate: (document: Record<string, unknown>) => void): string => {
    const document = JSON.parse(ISF.replace(/18446744\d+/g, '1')) as Record<string, unknown>;
    mutate(document);
    return JSON.stringify(document);
  };

  it('rejects what is not an ISF, naming the input', () => {
    expect(() => parseIsf('[]', { source: 'x.json' })).toThrow(/^x\.json: is not an ISF document/);
    expect(() => parseIsf(broken((d) => delete d['user_types']))).toThrow(
      /"user_types" is missing/,
    );
    expect(() => readIsf(null)).toThrow(InputError);
    expect(() =>
      parseIsf(broken((d) => ((d['metadata'] as Record<string, unknown>)['format'] = '9.0.0'))),
    ).toThrow(/format "9\.0\.0" is not supported/);
    expect(() =>
      parseIsf(
        broken(
          (d) => ((d['symbols'] as Record<string, { address: unknown }>)['do_exit']!.address = 'x'),
        ),
      ),
    ).toThrow(/symbols\.do_exit\.address is not an exact integer/);
  });

  it('reports malformed types with their JSON path when they are used', () => {
    const profile = parseIsf(
      broken((d) => {
        const types = d['user_types'] as Record<string, { fields: Record<string, unknown> }>;
        types['list_head']!.fields['next'] = { type: { kind: 'weird' }, offset: 0 };
        types['kuid_t']!.fields['val'] = { type: { kind: 'base', name: 'int' }, offset: -4 };
      }),
    );
    expect(() => profile.types.field('list_head', 'next')).toThrow(
      /user_types\.list_head\.fields\.next has unknown kind "weird"/,
    );
    expect(() => profile.types.field('kuid_t', 'val')).toThrow(
      /offset is not a non-negative integer/,
    );
    expect(() => profile.types.get(100_000)).toThrow(/out of range/);
  });

  it('bounds absurdly nested descriptors', () => {
    let type: unknown = { kind: 'base', name: 'int' };
    for (let depth = 0; depth < 100; depth++) type = { kind: 'pointer', subtype: type };
    const profile = parseIsf(
      broken((d) => {
        (d['user_types'] as Record<string, unknown>)['deep'] = {
          kind: 'struct',
          size: 8,
          fields: { p: { type, offset: 0 } },
        };
      }),
    );
    expect(() => profile.types.field('deep', 'p')).toThrow(/nests too deeply/);
  });
});
