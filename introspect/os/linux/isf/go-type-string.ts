// Names anonymous structs, unions and enums the way dwarf2json does: "unnamed_" and the first 8
// bytes of the SHA-1 of the type's description as Go's debug/dwarf prints it (Defn() for a
// struct, String() for an enum). Rebuilding that text from a TypeTable gives the same names as
// dwarf2json for the same kernel, so ISFs from either tool read alike.
import { createHash } from 'node:crypto';
import { InputError } from '../../../errors.js';
import type { MemberInfo, TypeId, TypeInfo, TypeTable } from '../profile/types.js';

/** Parameters and return type of a function prototype, when the TypeTable knows them (BTF does). */
export type PrototypeOf = (
  id: TypeId,
) => { returnType: TypeId; parameters: TypeId[]; variadic: boolean } | undefined;

const MAX_DEPTH = 64;

export class GoTypeStrings {
  private readonly strings = new Map<TypeId, string>();

  constructor(
    private readonly types: TypeTable,
    private readonly prototypeOf: PrototypeOf = () => undefined,
  ) {}

  /** dwarf2json's name for an anonymous struct, union or enum. */
  unnamedName(id: TypeId): string {
    const info = this.types.get(id);
    const text =
      info.kind === 'struct' || info.kind === 'union'
        ? this.definition(info, 0)
        : this.string(id, 0);
    const digest = createHash('sha1').update(text, 'utf8').digest('hex');
    return `unnamed_${digest.slice(0, 16)}`;
  }

  /** Go's Type.String() for a type. */
  string(id: TypeId, depth: number): string {
    const known = this.strings.get(id);
    if (known !== undefined) return known;
    if (depth > MAX_DEPTH) {
      throw new InputError(`type ${id} nests more than ${MAX_DEPTH} levels`, 'type table');
    }
    const text = this.compute(id, depth);
    this.strings.set(id, text);
    return text;
  }

  private compute(id: TypeId, depth: number): string {
    const info = this.types.get(id);
    switch (info.kind) {
      case 'void':
        return 'void';
      case 'int':
      case 'float':
        return info.name;
      case 'pointer':
        return `*${this.string(info.target, depth + 1)}`;
      case 'array':
        // A count of 0 is `x[0]` here; `member` tells a flexible `x[]` (Go prints -1) apart.
        return `[${info.count}]${this.string(info.element, depth + 1)}`;
      case 'struct':
      case 'union':
        return info.name !== '' ? `${info.kind} ${info.name}` : this.definition(info, depth);
      case 'enum': {
        const values = info.values.map(({ name, value }) => `${name}=${BigInt.asIntN(64, value)}`);
        return `enum${info.name !== '' ? ` ${info.name}` : ''} {${values.join('; ')}}`;
      }
      case 'typedef':
        return info.name;
      case 'qualifier':
        // Type tags exist only in BTF; DWARF has no such type.
        return info.qualifier === 'type_tag'
          ? this.string(info.target, depth + 1)
          : `${info.qualifier} ${this.string(info.target, depth + 1)}`;
      case 'function': {
        const prototype = this.prototypeOf(id);
        if (prototype === undefined) return 'func() void';
        const parameters = prototype.parameters.map((parameter) =>
          this.string(parameter, depth + 1),
        );
        if (prototype.variadic) parameters.push('...');
        return `func(${parameters.join(', ')}) ${this.string(prototype.returnType, depth + 1)}`;
      }
      case 'forward':
        return `${info.union ? 'union' : 'struct'} ${info.name}`;
    }
  }

  /** Go's StructType.Defn(), assuming DWARF 5 bitfields (DW_AT_data_bit_offset, as gcc 11+ emits). */
  private definition(info: Extract<TypeInfo, { kind: 'struct' | 'union' }>, depth: number): string {
    const fields = info.members.map((member, index) =>
      this.member(info, member, index === info.members.length - 1, depth + 1),
    );
    return `${info.kind}${info.name !== '' ? ` ${info.name}` : ''} {${fields.join('; ')}}`;
  }

  private member(
    container: Extract<TypeInfo, { kind: 'struct' | 'union' }>,
    member: MemberInfo,
    last: boolean,
    depth: number,
  ): string {
    let type = this.string(member.type, depth);
    const resolved = this.types.get(member.type);
    if (resolved.kind === 'array' && resolved.count === 0) {
      // DWARF leaves the count out of `x[]` (Go: -1) and gives `x[0]` an upper bound of -1
      // (Go: 0); Go also zeroes a trailing array that ends the struct. BTF stores 0 for both:
      // only a last struct member can be `x[]`, and it reads as 0 when it ends the struct.
      const flexible =
        container.kind === 'union' || (last && member.bitOffset !== container.size * 8);
      if (!flexible) type = `[0]${type.slice(type.indexOf(']') + 1)}`;
    }
    if (member.bitSize === 0) return `${member.name} ${type}@${member.bitOffset / 8}`;
    return `${member.name} ${type}@0 : ${member.bitSize}@${member.bitOffset}`;
  }
}
