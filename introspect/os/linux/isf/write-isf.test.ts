import type { TypeId } from '../profile/types.js';
import { checkIsf } from './check-isf.js';
import type { IsfDocument } from './isf-format.js';
import { exactInteger, parseIsfJson } from './isf-json.js';
import { parseIsf } from './read-isf.js';
import { BANNER, SLIDE, sample, symbols } from './test-support/sample-types.js';
import { buildIsf, writeIsf } from './write-isf.js';
import { SortedSymbolTable } from '../profile/symbol-table.js';

describe('writeIsf', () => {
  const types = sample();
  const text = writeIsf({ types, symbols, banner: BANNER, slide: SLIDE });
  const document = parseIsfJson(text, 'written') as IsfDocument;

  it('writes what the ISF schema requires, with every named type defined', () => {
    expect(checkIsf(document)).toEqual([]);
    expect(checkIsf(buildIsf({ types, symbols, format: '6.3.0' }), { format: '6.3.0' })).toEqual(
      [],
    );
    expect(document.metadata).toEqual({
      format: '6.2.0',
      producer: { name: 'ringside', version: '0.1.0' },
      linux: { symbols: [{ kind: 'symtab', name: 'kallsyms' }], types: [{ name: 'BTF' }] },
    });
  });

  it('writes base types: pointer, void, the ints, chars and bools', () => {
    expect(document.base_types['pointer']).toEqual({
      kind: 'int',
      size: 8,
      signed: false,
      endian: 'little',
    });
    expect(document.base_types['void']).toMatchObject({ kind: 'void', size: 0 });
    expect(document.base_types['char']).toMatchObject({ kind: 'char', size: 1, signed: true });
    expect(document.base_types['_Bool']).toMatchObject({ kind: 'bool', size: 1 });
    expect(document.base_types['unsigned int']).toMatchObject({ kind: 'int', signed: false });
    for (const name of ['int', 'long unsigned int', 'unsigned char', 'short int']) {
      expect(document.base_types[name]).toBeDefined();
    }
  });

  it('names types as dwarf2json does', () => {
    const task = document.user_types['task_struct']!;
    expect(task.fields['unnamed_field_0']).toMatchObject({ offset: 48, anonymous: true });
    const union = task.fields['unnamed_field_0']!.type as { kind: string; name: string };
    expect(union.kind).toBe('union');
    expect(union.name).toMatch(/^unnamed_[0-9a-f]{16}$/);
    expect(document.user_types[union.name]!.fields['unnamed_field_0']).toMatchObject({
      anonymous: true,
    });
    // Names that dwarf2json gave the same types in the Debian 6.1 kernel's ISF.
    expect(document.user_types['unnamed_dfe4555410daaa7e']).toBeDefined();
    expect(document.user_types['unnamed_00a1aa03b36d0215']).toEqual({
      kind: 'struct',
      size: 8,
      fields: {
        reserved0: {
          offset: 0,
          type: {
            kind: 'bitfield',
            bit_length: 62,
            bit_position: 0,
            type: { kind: 'base', name: 'long long unsigned int' },
          },
        },
        device_type: {
          offset: 7,
          type: {
            kind: 'bitfield',
            bit_length: 2,
            bit_position: 6,
            type: { kind: 'base', name: 'long long unsigned int' },
          },
        },
      },
    });
    // Typedefs of structs are user types of their own, and references use the typedef's name.
    expect(document.user_types['kuid_t']).toEqual(document.user_types['kuid2_t']);
    expect(document.user_types['cred']!.fields['uid']!.type).toEqual({
      kind: 'struct',
      name: 'kuid_t',
    });
    expect(document.user_types['holder']!.fields['list']!.type).toEqual({
      kind: 'struct',
      name: 'list_t',
    });
    expect(document.user_types['list_t']).toEqual(document.user_types['list_head']);
  });

  it('writes fields: pointers, arrays, bitfields, enums and functions', () => {
    const task = document.user_types['task_struct']!.fields;
    expect(task['tasks']).toEqual({ offset: 8, type: { kind: 'struct', name: 'list_head' } });
    expect(task['comm']).toEqual({
      offset: 32,
      type: { kind: 'array', count: 16, subtype: { kind: 'base', name: 'char' } },
    });
    expect(task['cred']).toEqual({
      offset: 24,
      type: { kind: 'pointer', subtype: { kind: 'struct', name: 'cred' } },
    });
    expect(task['in_iowait']).toEqual({
      offset: 4,
      type: {
        kind: 'bitfield',
        bit_length: 1,
        bit_position: 1,
        type: { kind: 'base', name: 'unsigned int' },
      },
    });
    // Qualifiers are dropped: euid is `const kuid_t`.
    expect(document.user_types['cred']!.fields['euid']!.type).toEqual({
      kind: 'struct',
      name: 'kuid_t',
    });
    const holder = document.user_types['holder']!.fields;
    expect(holder['handler']!.type).toEqual({ kind: 'pointer', subtype: { kind: 'function' } });
    expect(holder['state']!.type).toEqual({ kind: 'enum', name: 'task_state' });
    expect(document.enums['task_state']).toEqual({
      size: 4,
      base: 'unsigned int',
      constants: { RUNNING: 0, BLOCKED: 2 },
    });
    const flag = holder['flag']!.type as { name: string };
    expect(flag.name).toMatch(/^unnamed_[0-9a-f]{16}$/);
    expect(document.enums[flag.name]).toEqual({ size: 4, base: 'int', constants: { MINUS: -1 } });
    expect(document.enums['perf_context']).toEqual({
      size: 8,
      base: 'long int',
      constants: { PERF_CONTEXT_MAX: -4095 },
    });
  });

  it('writes symbols at link-time addresses, typed where the type is known', () => {
    expect(exactInteger(document.symbols['init_task']!.address)).toBe(0xffffffff82e0f940n);
    expect(document.symbols['init_task']!.type).toEqual({ kind: 'struct', name: 'task_struct' });
    expect(text).toContain('"address":18446744071610366272');
    expect(document.symbols['modules']!.type).toEqual({ kind: 'struct', name: 'list_head' });
    // The BTF knows runqueues (a VAR); per-CPU offsets are not moved by the slide.
    expect(document.symbols['runqueues']).toEqual({
      address: 0x31980,
      type: { kind: 'struct', name: 'list_head' },
    });
    expect(document.symbols['do_exit']!.type).toEqual({ kind: 'base', name: 'void' });
    // init_mm is well known, but mm_struct is not in these types: no dangling reference.
    expect(document.symbols['init_mm']!.type).toEqual({ kind: 'base', name: 'void' });
    const banner = document.symbols['linux_banner']!;
    expect(exactInteger(banner.address)).toBe(0xffffffff82000000n);
    expect(Buffer.from(banner.constant_data!, 'base64').toString('latin1')).toBe(`${BANNER}\0`);
  });

  it('adds the absolute phys_startup_64 that kallsyms lacks (LibVMI file mode needs it)', () => {
    const withStartup = new SortedSymbolTable([
      ...symbols.all(),
      { name: 'startup_64', address: 0xffffffff81000000n + SLIDE, type: 'T' },
    ]);
    const isf = buildIsf({ types, symbols: withStartup, slide: SLIDE });
    expect(isf.symbols['phys_startup_64']!.address).toBe(0x1000000n);
    expect(checkIsf(isf)).toEqual([]);
    // Not invented where there is no x86-64 startup_64 to derive it from.
    expect(document.symbols['phys_startup_64']).toBeUndefined();
  });

  it('round-trips through the ISF reader with the same layout as the BTF', () => {
    const profile = parseIsf(text, { slide: SLIDE });
    expect(profile.banner).toBe(BANNER);
    expect(profile.symbols.address('init_task')).toBe(symbols.address('init_task'));
    expect(profile.symbols.address('runqueues')).toBe(0x31980n);
    let compared = 0;
    const walk = (struct: string, id: TypeId, prefix: string, depth: number): void => {
      const info = types.get(types.resolve(id));
      if ((info.kind !== 'struct' && info.kind !== 'union') || depth > 4) return;
      for (const member of info.members) {
        const path = member.name === '' ? prefix.slice(0, -1) : `${prefix}${member.name}`;
        if (member.name !== '') {
          const fromBtf = types.field(struct, path)!;
          const fromIsf = profile.types.field(struct, path);
          expect({ path, ...fromIsf, type: 0 }).toEqual({ path, ...fromBtf, type: 0 });
          expect(profile.types.sizeOf(fromIsf!.type)).toBe(types.sizeOf(fromBtf.type));
          compared++;
        }
        walk(struct, member.type, member.name === '' ? prefix : `${path}.`, depth + 1);
      }
    };
    for (const struct of ['task_struct', 'cred', 'list_head', 'holder', 'kuid_t']) {
      expect(profile.types.sizeOf(profile.types.findStruct(struct)!)).toBe(
        types.sizeOf(types.findStruct(struct)!),
      );
      walk(struct, types.findStruct(struct)!, '', 0);
    }
    expect(compared).toBeGreaterThan(25);
  });

  it('writes ISF text that reads back identically (deterministic output)', () => {
    expect(writeIsf({ types: sample(), symbols, banner: BANNER, slide: SLIDE })).toBe(text);
  });
});
