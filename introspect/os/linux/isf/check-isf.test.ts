import { checkIsf } from './check-isf.js';

const valid = () => ({
  metadata: { format: '6.2.0', producer: { name: 'ringside', version: '0.1.0' }, linux: {} },
  base_types: {
    void: { kind: 'void', size: 0, signed: false, endian: 'little' },
    pointer: { kind: 'int', size: 8, signed: false, endian: 'little' },
    int: { kind: 'int', size: 4, signed: true, endian: 'little' },
  },
  user_types: {
    s: {
      kind: 'struct',
      size: 8,
      fields: {
        a: { offset: 0, type: { kind: 'base', name: 'int' } },
        b: {
          offset: 4,
          type: {
            kind: 'bitfield',
            bit_length: 3,
            bit_position: 1,
            type: { kind: 'enum', name: 'e' },
          },
        },
        opaque: {
          offset: 0,
          type: { kind: 'pointer', subtype: { kind: 'struct', name: 'hidden' } },
        },
      },
    },
  },
  enums: { e: { size: 4, base: 'int', constants: { A: 1 } } },
  symbols: { x: { address: 5, type: { kind: 'struct', name: 's' }, constant_data: 'AA==' } },
});

describe('checkIsf', () => {
  it('accepts a well-formed document, with opaque types behind pointers', () => {
    expect(checkIsf(valid())).toEqual([]);
  });

  it('reports each violation of the schema with its path', () => {
    const cases: [(d: ReturnType<typeof valid>) => void, RegExp][] = [
      [(d) => delete (d as Partial<typeof d>).enums, /^\$\.enums: missing/],
      [(d) => ((d.metadata as { format: string }).format = '5.0.0'), /format: must match 6\.x\.y/],
      [(d) => Object.assign(d.metadata, { extra: 1 }), /\$\.metadata: unexpected key "extra"/],
      [(d) => delete (d.base_types as Partial<typeof d.base_types>).pointer, /lacks "pointer"/],
      [(d) => Object.assign(d.base_types.int, { kind: 'long' }), /base_types\.int: kind "long"/],
      [(d) => Object.assign(d.user_types.s, { kind: 'enum' }), /user_types\.s: kind "enum"/],
      [(d) => Object.assign(d.user_types.s.fields.a, { offset: 'x' }), /fields\.a: offset must be/],
      [
        (d) => Object.assign(d.user_types.s.fields.a, { type: { kind: 'struct', name: 'nope' } }),
        /fields\.a\.type: unknown user type "nope"/,
      ],
      [
        (d) => Object.assign(d.user_types.s.fields.b.type, { type: { kind: 'struct', name: 's' } }),
        /a bitfield holds a base type or an enum/,
      ],
      [(d) => Object.assign(d.enums.e, { base: 'nope' }), /enums\.e: base "nope"/],
      [
        (d) => Object.assign(d.symbols.x, { address: 1.5 }),
        /symbols\.x: address must be an integer/,
      ],
      [(d) => Object.assign(d.symbols.x, { constant_data: '%%' }), /constant_data must be base64/],
      [(d) => Object.assign(d.symbols.x, { size: 4 }), /symbols\.x: unexpected key "size"/],
    ];
    for (const [mutate, expected] of cases) {
      const document = valid();
      mutate(document);
      expect(checkIsf(document).join('\n')).toMatch(expected);
    }
    expect(checkIsf([])).toEqual(['$: not an object']);
  });

  it('requires a producer with an x.y.z version for format 6.3.0', () => {
    const document = valid();
    delete (document.metadata as { producer?: unknown }).producer;
    expect(checkIsf(document)).toEqual([]);
    expect(checkIsf(document, { format: '6.3.0' })).toEqual([
      '$.metadata.producer: must be an object',
    ]);
  });
});
