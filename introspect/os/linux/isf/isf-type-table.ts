// A TypeTable over the types of a Volatility 3 ISF: base_types, user_types and enums get ids up
// front; pointer, array and function descriptors get ids as members are decoded (interned, so
// equal descriptors share one id). ISF has no typedefs or qualifiers: dwarf2json resolved them.
import { InputError } from '../../../errors.js';
import { locateField } from '../btf/field-path.js';
import type { FieldLocation, MemberInfo, TypeId, TypeInfo, TypeTable } from '../profile/types.js';
import type { IsfBaseType, IsfDocument, IsfTypeDescriptor } from './isf-format.js';
import { exactInteger } from './isf-json.js';

type Named = { table: 'base' | 'user' | 'enum'; name: string };

/** Deepest descriptor nesting followed (pointers to arrays of pointers …). */
const MAX_DESCRIPTOR_DEPTH = 64;

export class IsfTypeTable implements TypeTable {
  readonly pointerSize: number;
  private readonly infos: (TypeInfo | undefined)[] = [{ kind: 'void' }];
  private readonly named: (Named | undefined)[] = [undefined];
  private readonly baseIds = new Map<string, TypeId>();
  private readonly userIds = new Map<string, TypeId>();
  private readonly enumIds = new Map<string, TypeId>();
  private readonly interned = new Map<string, TypeId>();

  constructor(
    private readonly document: Pick<IsfDocument, 'base_types' | 'user_types' | 'enums'>,
    readonly source: string,
  ) {
    for (const name of Object.keys(document.base_types)) {
      if (name === 'void') this.baseIds.set(name, 0);
      else this.baseIds.set(name, this.allocate({ table: 'base', name }));
    }
    for (const name of Object.keys(document.user_types)) {
      this.userIds.set(name, this.allocate({ table: 'user', name }));
    }
    for (const name of Object.keys(document.enums)) {
      this.enumIds.set(name, this.allocate({ table: 'enum', name }));
    }
    const pointer = document.base_types['pointer'] as IsfBaseType | null | undefined;
    this.pointerSize = typeof pointer?.size === 'number' ? pointer.size : 8;
  }

  private allocate(named: Named | undefined, info?: TypeInfo): TypeId {
    this.named.push(named);
    this.infos.push(info);
    return this.named.length - 1;
  }

  get(id: TypeId): TypeInfo {
    if (!Number.isInteger(id) || id < 0 || id >= this.infos.length) {
      throw new InputError(
        `type id ${id} is out of range (0..${this.infos.length - 1})`,
        this.source,
      );
    }
    const known = this.infos[id];
    if (known !== undefined) return known;
    const info = this.decode(this.named[id]!);
    this.infos[id] = info;
    return info;
  }

  private decode(named: Named): TypeInfo {
    const { name } = named;
    switch (named.table) {
      case 'base': {
        const base = this.entry(this.document.base_types, 'base_types', name);
        const size = this.number(base.size, `base_types.${name}.size`);
        if (base.kind === 'float') return { kind: 'float', name, size };
        if (base.kind === 'void') return { kind: 'void' };
        const info: TypeInfo = { kind: 'int', name, size, signed: base.signed === true };
        if (base.kind === 'bool') info.bool = true;
        if (base.kind === 'char') info.char = true;
        return info;
      }
      case 'enum': {
        const definition = this.entry(this.document.enums, 'enums', name);
        const values: { name: string; value: bigint }[] = [];
        for (const [constant, raw] of Object.entries(definition.constants ?? {})) {
          const value = exactInteger(raw);
          if (value === undefined) {
            throw this.error(`enums.${name}.constants.${constant} is not an integer`);
          }
          values.push({ name: constant, value });
        }
        const base = this.document.base_types[definition.base] as IsfBaseType | null | undefined;
        return {
          kind: 'enum',
          name,
          size: this.number(definition.size, `enums.${name}.size`),
          signed: base?.signed === true,
          values,
        };
      }
      case 'user': {
        const definition = this.entry(this.document.user_types, 'user_types', name);
        if (
          definition.kind !== 'struct' &&
          definition.kind !== 'union' &&
          definition.kind !== 'class'
        ) {
          throw this.error(`user_types.${name}.kind is ${JSON.stringify(definition.kind)}`);
        }
        if (typeof definition.fields !== 'object' || definition.fields === null) {
          throw this.error(`user_types.${name}.fields is missing`);
        }
        const members: MemberInfo[] = [];
        for (const [field, value] of Object.entries(definition.fields)) {
          const path = `user_types.${name}.fields.${field}`;
          if (typeof value !== 'object' || value === null)
            throw this.error(`${path} is not an object`);
          const offset = this.number(value?.offset, `${path}.offset`);
          let type = value?.type;
          let bitOffset = offset * 8;
          let bitSize = 0;
          if (type?.kind === 'bitfield') {
            bitOffset += this.number(type.bit_position, `${path}.type.bit_position`);
            bitSize = this.number(type.bit_length, `${path}.type.bit_length`);
            type = type.type;
          }
          members.push({
            name: value.anonymous === true ? '' : field,
            type: this.intern(type, path, 0),
            bitOffset,
            bitSize,
          });
        }
        members.sort((a, b) => a.bitOffset - b.bitOffset);
        return {
          kind: definition.kind === 'union' ? 'union' : 'struct',
          name,
          size: this.number(definition.size, `user_types.${name}.size`),
          members,
        };
      }
    }
  }

  /** An entry of one of the document's tables, which must be an object. */
  private entry<T>(table: Record<string, T>, tableName: string, name: string): T {
    const value = table[name];
    if (typeof value !== 'object' || value === null) {
      throw this.error(`${tableName}.${name} is not an object`);
    }
    return value;
  }

  /** The id of a type descriptor; names missing from the document become forward declarations. */
  intern(descriptor: IsfTypeDescriptor | undefined, path: string, depth: number): TypeId {
    if (depth > MAX_DESCRIPTOR_DEPTH) throw this.error(`${path} nests too deeply`);
    if (typeof descriptor !== 'object' || descriptor === null) {
      throw this.error(`${path} has no type descriptor`);
    }
    switch (descriptor.kind) {
      case 'base':
        return this.baseIds.get(descriptor.name) ?? this.forward(descriptor.name, false);
      case 'struct':
      case 'class':
      case 'union':
        return (
          this.userIds.get(descriptor.name) ??
          this.forward(descriptor.name, descriptor.kind === 'union')
        );
      case 'enum':
        return this.enumIds.get(descriptor.name) ?? this.forward(descriptor.name, false);
      case 'pointer': {
        const target = this.intern(descriptor.subtype, `${path}.subtype`, depth + 1);
        return this.internInfo(`*${target}`, { kind: 'pointer', target });
      }
      case 'array': {
        const element = this.intern(descriptor.subtype, `${path}.subtype`, depth + 1);
        const count = this.number(descriptor.count, `${path}.count`);
        return this.internInfo(`[${count}]${element}`, { kind: 'array', element, count });
      }
      case 'function':
        return this.internInfo('function', { kind: 'function', name: '' });
      case 'bitfield':
        return this.intern(descriptor.type, `${path}.type`, depth + 1);
      default:
        throw this.error(
          `${path} has unknown kind ${JSON.stringify((descriptor as { kind: unknown }).kind)}`,
        );
    }
  }

  private forward(name: string, union: boolean): TypeId {
    return this.internInfo(`fwd ${union ? 'union' : 'struct'} ${name}`, {
      kind: 'forward',
      name,
      union,
    });
  }

  private internInfo(key: string, info: TypeInfo): TypeId {
    let id = this.interned.get(key);
    if (id === undefined) {
      id = this.allocate(undefined, info);
      this.interned.set(key, id);
    }
    return id;
  }

  private number(value: unknown, path: string): number {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw this.error(`${path} is not a non-negative integer (${JSON.stringify(value)})`);
    }
    return value;
  }

  private error(message: string): InputError {
    return new InputError(message, this.source);
  }

  findStruct(name: string): TypeId | undefined {
    return this.userIds.get(name);
  }

  /** The id of a base type ('int', 'long unsigned int', 'pointer' …) or an enum, by name. */
  findBase(name: string): TypeId | undefined {
    return this.baseIds.get(name);
  }

  findEnum(name: string): TypeId | undefined {
    return this.enumIds.get(name);
  }

  resolve(id: TypeId): TypeId {
    return id;
  }

  sizeOf(id: TypeId): number {
    let multiplier = 1;
    let current = id;
    for (let depth = 0; depth <= MAX_DESCRIPTOR_DEPTH; depth++) {
      const info = this.get(current);
      switch (info.kind) {
        case 'array':
          multiplier *= info.count;
          current = info.element;
          continue;
        case 'pointer':
          return multiplier * this.pointerSize;
        case 'int':
        case 'float':
        case 'struct':
        case 'union':
        case 'enum':
          return multiplier * info.size;
        default:
          return 0;
      }
    }
    throw this.error(`type ${id} nests arrays too deeply`);
  }

  field(struct: string, path: string): FieldLocation | undefined {
    const id = this.findStruct(struct);
    return id === undefined ? undefined : locateField(this, id, path);
  }

  /** Ids of void, every base type, user type and enum, then those interned so far. */
  *ids(): Iterable<TypeId> {
    for (let id = 0; id < this.infos.length; id++) yield id;
  }
}
