// Writes a Volatility 3 ISF from a TypeTable and a SymbolTable (BTF + kallsyms), shaped the way
// dwarf2json shapes it: typedefs and qualifiers resolved, typedef'd structs under the typedef's
// name, anonymous types as unnamed_<sha1>, bitfields with a byte offset and a bit position, and
// linux_banner carrying the banner bytes, by which Volatility 3 recognises a Linux ISF.
import { InputError } from '../../../errors.js';
import { BtfTypeTable } from '../btf/btf-type-table.js';
import type { SymbolTable, TypeId, TypeInfo, TypeTable } from '../profile/types.js';
import { GoTypeStrings, type PrototypeOf } from './go-type-string.js';
import type {
  IsfBaseType,
  IsfDocument,
  IsfEnum,
  IsfField,
  IsfSymbol,
  IsfTypeDescriptor,
  IsfUserType,
} from './isf-format.js';
import { stringifyIsfJson } from './isf-json.js';
import { WELL_KNOWN_SYMBOL_TYPES } from './well-known-symbols.js';

export interface IsfWriteInput {
  types: TypeTable;
  symbols: SymbolTable;
  /** The kernel's banner (`linux_banner`, "Linux version …\n"), without the trailing NUL. */
  banner?: string;
  /** KASLR slide of the symbol addresses; subtracted from kernel-half addresses. Default 0. */
  slide?: bigint;
  /**
   * Types of symbols by name (ids in `types`). BTF variables (per-CPU and, with newer pahole,
   * globals) and a list of well-known kernel variables are used when a name is absent here.
   */
  symbolTypes?: ReadonlyMap<string, TypeId>;
  /** Parameters of function prototypes for anonymous-type names; derived for a BtfTypeTable. */
  prototypeOf?: PrototypeOf;
  /** Default 8, or the BtfTypeTable's pointer size. */
  pointerSize?: number;
  endian?: 'little' | 'big';
  /** ISF format version; 6.2.0 (default) is read by every Volatility 3 since 2.4. */
  format?: '6.2.0' | '6.3.0';
  producer?: { name: string; version: string };
  /** Names of the sources, for the metadata ("kallsyms", "vmlinux BTF"). */
  symbolSource?: string;
  typeSource?: string;
}

const KERNEL_HALF = 1n << 63n;
/**
 * x86-64 links the kernel at __START_KERNEL_map + its physical start; vmlinux.lds.S defines the
 * absolute `phys_startup_64 = startup_64 - __START_KERNEL_map`. Absolute symbols are not in
 * kallsyms, but System.map (and so dwarf2json's ISF) has it, and LibVMI's file mode needs it to
 * find the kernel's page tables.
 */
const X86_64_START_KERNEL_MAP = 0xffffffff80000000n;
const VOID: IsfTypeDescriptor = { kind: 'base', name: 'void' };
const MAX_DEPTH = 64;

/** The C integer types Volatility 3 plugins name, LP64 sizes, added when the types lack them. */
const STANDARD_BASE_TYPES: Record<string, Omit<IsfBaseType, 'endian'>> = {
  char: { kind: 'char', size: 1, signed: true },
  'signed char': { kind: 'char', size: 1, signed: true },
  'unsigned char': { kind: 'char', size: 1, signed: false },
  _Bool: { kind: 'bool', size: 1, signed: true },
  'short int': { kind: 'int', size: 2, signed: true },
  'short unsigned int': { kind: 'int', size: 2, signed: false },
  int: { kind: 'int', size: 4, signed: true },
  'unsigned int': { kind: 'int', size: 4, signed: false },
  'long int': { kind: 'int', size: 8, signed: true },
  'long unsigned int': { kind: 'int', size: 8, signed: false },
  'long long int': { kind: 'int', size: 8, signed: true },
  'long long unsigned int': { kind: 'int', size: 8, signed: false },
};

/** The ISF document (bigint addresses) for these tables. */
export function buildIsf(input: IsfWriteInput): IsfDocument {
  return new IsfBuilder(input).build();
}

/** The ISF JSON text for these tables (addresses as exact integers). */
export function writeIsf(input: IsfWriteInput, indent?: number): string {
  return stringifyIsfJson(buildIsf(input), indent);
}

class IsfBuilder {
  private readonly types: TypeTable;
  private readonly endian: 'little' | 'big';
  private readonly names: GoTypeStrings;
  private readonly structNames = new Map<TypeId, string>();
  private readonly baseTypes: Record<string, IsfBaseType> = {};
  private readonly userTypes: Record<string, IsfUserType> = {};
  private readonly enums: Record<string, IsfEnum> = {};

  constructor(private readonly input: IsfWriteInput) {
    this.types = input.types;
    this.endian = input.endian ?? 'little';
    const btf = input.types instanceof BtfTypeTable ? input.types : undefined;
    this.names = new GoTypeStrings(
      input.types,
      input.prototypeOf ?? (btf ? (id) => btf.prototypeOf(id) : undefined),
    );
  }

  build(): IsfDocument {
    const pointerSize =
      this.input.pointerSize ?? (this.types instanceof BtfTypeTable ? this.types.pointerSize : 8);
    this.baseTypes['void'] = { kind: 'void', size: 0, signed: false, endian: this.endian };
    this.baseTypes['pointer'] = {
      kind: 'int',
      size: pointerSize,
      signed: false,
      endian: this.endian,
    };
    const enumIds: TypeId[] = [];
    for (const id of this.types.ids()) {
      const info = this.types.get(id);
      switch (info.kind) {
        case 'int':
        case 'float':
          this.addBase(info);
          break;
        case 'struct':
        case 'union':
          this.addUserType(this.structName(id), info);
          break;
        case 'typedef': {
          // dwarf2json: a typedef of a struct is a user type of its own under the typedef's name.
          const target = this.types.get(info.target);
          if (target.kind === 'struct' || target.kind === 'union') {
            this.addUserType(info.name, target);
          }
          break;
        }
        case 'enum':
          enumIds.push(id);
          break;
        default:
          break;
      }
    }
    for (const [name, base] of Object.entries(STANDARD_BASE_TYPES)) {
      this.baseTypes[name] ??= { ...base, endian: this.endian };
    }
    // Enum bases are chosen among the base types, so enums come last.
    for (const id of enumIds) this.addEnum(id);
    return {
      metadata: {
        format: this.input.format ?? '6.2.0',
        producer: this.input.producer ?? { name: 'ringside', version: '0.1.0' },
        linux: {
          symbols: [{ kind: 'symtab', name: this.input.symbolSource ?? 'kallsyms' }],
          types: [{ name: this.input.typeSource ?? 'BTF' }],
        },
      },
      base_types: this.baseTypes,
      user_types: this.userTypes,
      enums: this.enums,
      symbols: this.symbols(),
    };
  }

  private addBase(info: Extract<TypeInfo, { kind: 'int' | 'float' }>): void {
    if (info.name === '' || info.name in this.baseTypes) return;
    let kind: IsfBaseType['kind'] = 'int';
    let signed = info.kind === 'float' || info.signed;
    if (info.kind === 'float') kind = 'float';
    else if (info.bool === true || info.name === '_Bool') {
      // dwarf2json marks every base type signed except unsigned ints and chars.
      kind = 'bool';
      signed = true;
    } else if (info.char === true || /\bchar\b/.test(info.name)) {
      kind = 'char';
      signed = !info.name.includes('unsigned');
    }
    this.baseTypes[info.name] = { kind, size: info.size, signed, endian: this.endian };
  }

  private addUserType(name: string, info: Extract<TypeInfo, { kind: 'struct' | 'union' }>): void {
    // A later definition of a name replaces an earlier one, as in dwarf2json (BTF keeps the
    // order in which the compiler units brought the types in).
    const fields: Record<string, IsfField> = {};
    let anonymous = 0;
    for (const member of info.members) {
      const type = this.descriptor(member.type, 0);
      let fieldName = member.name;
      const field: IsfField = { type, offset: Math.floor(member.bitOffset / 8) };
      if (fieldName === '') {
        fieldName = `unnamed_field_${(anonymous++).toString(16)}`;
        field.anonymous = true;
      }
      if (member.bitSize > 0) {
        // As dwarf2json writes DWARF 5 bitfields: the byte holding the first bit, and the bit in
        // it; Volatility reads the field's base type from that byte and shifts.
        field.type = {
          kind: 'bitfield',
          bit_length: member.bitSize,
          bit_position: member.bitOffset % 8,
          type,
        };
      }
      fields[fieldName] = field;
    }
    this.userTypes[name] = { kind: info.kind, size: info.size, fields };
  }

  private addEnum(id: TypeId): void {
    const info = this.types.get(id);
    if (info.kind !== 'enum') return;
    const name = this.enumName(id, info);
    const constants: Record<string, number | bigint> = {};
    let negative = false;
    for (const { name: constant, value: raw } of info.values) {
      // DWARF (hence dwarf2json) reads 64-bit enumerators as int64.
      const value = BigInt.asIntN(64, raw);
      constants[constant] = Number.isSafeInteger(Number(value)) ? Number(value) : value;
      if (value < 0n) negative = true;
    }
    // dwarf2json: the first base type, by name, of kind int with the enum's size and sign.
    let base = 'void';
    for (const candidate of Object.keys(this.baseTypes).sort()) {
      const type = this.baseTypes[candidate]!;
      if (type.kind === 'int' && type.size === info.size && type.signed === negative) {
        base = candidate;
        break;
      }
    }
    // An enum BTF knows only by name (no enumerators) is a declaration: DWARF gives it no size.
    if (info.values.length === 0) this.enums[name] = { size: 0, base: 'void', constants };
    else this.enums[name] = { size: info.size, base, constants };
  }

  private structName(id: TypeId): string {
    let name = this.structNames.get(id);
    if (name === undefined) {
      const info = this.types.get(id);
      name =
        (info.kind === 'struct' || info.kind === 'union') && info.name !== ''
          ? info.name
          : this.names.unnamedName(id);
      this.structNames.set(id, name);
    }
    return name;
  }

  private enumName(id: TypeId, info: Extract<TypeInfo, { kind: 'enum' }>): string {
    return info.name !== '' ? info.name : this.names.unnamedName(id);
  }

  /** dwarf2json's typeName(): the descriptor of a type as a field or symbol refers to it. */
  descriptor(id: TypeId, depth: number): IsfTypeDescriptor {
    if (depth > MAX_DEPTH) {
      throw new InputError(`type ${id} nests more than ${MAX_DEPTH} levels`, 'type table');
    }
    const info = this.types.get(id);
    switch (info.kind) {
      case 'void':
        return VOID;
      case 'int':
      case 'float':
        return { kind: 'base', name: info.name };
      case 'pointer':
        return { kind: 'pointer', subtype: this.descriptor(info.target, depth + 1) };
      case 'array':
        return {
          kind: 'array',
          count: info.count,
          subtype: this.descriptor(info.element, depth + 1),
        };
      case 'struct':
      case 'union':
        return { kind: info.kind, name: this.structName(id) };
      case 'enum':
        return { kind: 'enum', name: this.enumName(id, info) };
      case 'typedef': {
        const target = this.types.get(info.target);
        if (target.kind === 'struct' || target.kind === 'union') {
          return { kind: target.kind, name: info.name };
        }
        if (target.kind === 'forward')
          return { kind: target.union ? 'union' : 'struct', name: info.name };
        return this.descriptor(info.target, depth + 1);
      }
      case 'qualifier':
        return this.descriptor(info.target, depth + 1);
      case 'function':
        return { kind: 'function' };
      case 'forward':
        return { kind: info.union ? 'union' : 'struct', name: info.name };
    }
  }

  private symbols(): Record<string, IsfSymbol> {
    const { symbols } = this.input;
    const slide = this.input.slide ?? 0n;
    // BTF VARs are few (per-CPU variables, a few hundred); one map beats a look-up per symbol.
    const variables = this.types instanceof BtfTypeTable ? this.types.variables() : undefined;
    const entries = new Map<string, IsfSymbol>();
    for (const symbol of symbols.all()) {
      if (entries.has(symbol.name)) continue;
      const address = symbols.address(symbol.name) ?? symbol.address;
      const linked = address >= KERNEL_HALF ? BigInt.asUintN(64, address - slide) : address;
      const typeId = this.input.symbolTypes?.get(symbol.name) ?? variables?.get(symbol.name)?.type;
      entries.set(symbol.name, { address: linked, type: this.symbolType(symbol.name, typeId) });
    }
    const startup = entries.get('startup_64');
    if (
      startup !== undefined &&
      !entries.has('phys_startup_64') &&
      typeof startup.address === 'bigint' &&
      startup.address >= X86_64_START_KERNEL_MAP
    )
      entries.set('phys_startup_64', {
        address: startup.address - X86_64_START_KERNEL_MAP,
        type: VOID,
      });
    const banner = this.input.banner;
    if (banner !== undefined) {
      let entry = entries.get('linux_banner');
      if (entry === undefined) entries.set('linux_banner', (entry = { address: 0n }));
      entry.type = { kind: 'array', count: 0, subtype: { kind: 'base', name: 'char' } };
      entry.constant_data = Buffer.from(`${banner}\0`, 'latin1').toString('base64');
    }
    return Object.fromEntries(entries);
  }

  private symbolType(name: string, typeId: TypeId | undefined): IsfTypeDescriptor {
    if (typeId !== undefined) return this.descriptor(typeId, 0);
    const known = WELL_KNOWN_SYMBOL_TYPES[name];
    if (known !== undefined && this.resolvable(known)) return known;
    return VOID;
  }

  /** Whether every name a descriptor refers to is defined in the document being written. */
  private resolvable(descriptor: IsfTypeDescriptor): boolean {
    switch (descriptor.kind) {
      case 'base':
        return descriptor.name in this.baseTypes;
      case 'struct':
      case 'union':
      case 'class':
        return descriptor.name in this.userTypes;
      case 'enum':
        return descriptor.name in this.enums;
      case 'pointer':
      case 'array':
        return this.resolvable(descriptor.subtype);
      case 'bitfield':
        return this.resolvable(descriptor.type);
      case 'function':
        return true;
    }
  }
}
