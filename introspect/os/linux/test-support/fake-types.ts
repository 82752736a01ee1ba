// A TypeTable written as a plain layout (struct → field → offset and size, arrays with their element
// size and count): enough for tests of kernel walkers without building BTF.
import type { FieldLocation, TypeId, TypeInfo, TypeTable } from '../profile/types.js';

export interface FakeField {
  offset: number;
  /** Bytes of an integer or pointer field (8 by default); for an array, of one element. */
  size?: number;
  /** Makes the field an array of this many elements. */
  count?: number;
  /** Makes the field a bitfield of `bits` bits starting `bit` bits into its first byte. */
  bitfield?: { bit: number; bits: number };
}

export type FakeLayout = Record<string, { size: number; fields: Record<string, FakeField> }>;

/** Enums by name: value names and values (e.g. bpf_prog_type). */
export type FakeEnums = Record<string, Record<string, number>>;

export function fakeTypes(layout: FakeLayout, enums: FakeEnums = {}): TypeTable {
  const types: TypeInfo[] = [{ kind: 'void' }];
  const add = (type: TypeInfo): TypeId => types.push(type) - 1;
  for (const [name, values] of Object.entries(enums)) {
    add({
      kind: 'enum',
      name,
      size: 4,
      signed: false,
      values: Object.entries(values).map(([entry, value]) => ({
        name: entry,
        value: BigInt(value),
      })),
    });
  }
  const structs = new Map<string, TypeId>();
  const fields = new Map<string, FieldLocation>();
  for (const [name, struct] of Object.entries(layout)) {
    structs.set(name, add({ kind: 'struct', name, size: struct.size, members: [] }));
    for (const [path, field] of Object.entries(struct.fields)) {
      const size = field.size ?? 8;
      let type = add({ kind: 'int', name: `u${size * 8}`, size, signed: false });
      if (field.count !== undefined)
        type = add({ kind: 'array', element: type, count: field.count });
      fields.set(`${name}.${path}`, {
        offset: field.offset,
        type,
        bitOffset: field.offset * 8 + (field.bitfield?.bit ?? 0),
        bitSize: field.bitfield?.bits ?? 0,
      });
    }
  }
  const sizeOf = (id: TypeId): number => {
    const type = types[id];
    if (!type) return 0;
    if (type.kind === 'array') return type.count * sizeOf(type.element);
    return 'size' in type ? type.size : 0;
  };
  return {
    get: (id) => types[id] ?? { kind: 'void' },
    findStruct: (name) => structs.get(name),
    sizeOf,
    resolve: (id) => id,
    field: (struct, path) => fields.get(`${struct}.${path}`),
    ids: () => types.keys(),
  };
}
