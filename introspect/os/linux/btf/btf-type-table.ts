// A TypeTable over raw BTF bytes. One pass records where each type's record starts; everything
// else (names, members, the name index) is decoded on first use, so a 5 MB vmlinux BTF costs a few
// milliseconds until someone asks about a type. BTF from guest memory is hostile input: every id,
// offset and chain is checked and a violation is an InputError naming the BTF.
import { InputError } from '../../../errors.js';
import type { FieldLocation, MemberInfo, TypeId, TypeInfo, TypeTable } from '../profile/types.js';
import { locateField } from './field-path.js';
import {
  BTF_INT_BOOL,
  BTF_INT_CHAR,
  BTF_INT_SIGNED,
  BTF_KIND_NAMES,
  BTF_TYPE_SIZE,
  BtfKind,
  trailingSize,
} from './format.js';
import { type BtfHeader, readBtfHeader } from './header.js';
import { BtfNameIndex } from './name-index.js';
import { BtfStrings } from './strings.js';

export interface BtfParseOptions {
  /** Names the input in errors (a file path, "guest .BTF at 0xffff…"). Default "BTF". */
  source?: string;
  /** Size of a pointer in bytes; BTF does not record it. Default 8 (x86-64, ARM64). */
  pointerSize?: number;
}

/** Longest typedef/qualifier chain followed before calling it a cycle (real kernels stay below 10). */
const MAX_CHAIN = 256;
/** Deepest array-of-array nesting followed when computing sizes. */
const MAX_ARRAY_NESTING = 64;

/** A BTF variable (a VAR record: per-CPU and, with newer pahole, global kernel variables). */
export interface BtfVariable {
  id: TypeId;
  name: string;
  type: TypeId;
  /** 0 static, 1 global allocated, 2 global extern. */
  linkage: number;
}

/** Parses raw BTF (the kernel's `.BTF` section or `/sys/kernel/btf/vmlinux`) into a TypeTable. */
export function parseBtf(bytes: Uint8Array, options: BtfParseOptions = {}): BtfTypeTable {
  return new BtfTypeTable(bytes, options);
}

export class BtfTypeTable implements TypeTable {
  readonly source: string;
  readonly header: BtfHeader;
  readonly pointerSize: number;
  /** Number of type ids, counting void (id 0). */
  readonly count: number;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly littleEndian: boolean;
  private readonly strings: BtfStrings;
  /** Absolute byte offset of the record of each id (index 0, void, has none). */
  private readonly offsets: Uint32Array;
  private readonly decoded: (TypeInfo | undefined)[] = [];
  private typeIndex: BtfNameIndex | undefined;
  private varIndex: BtfNameIndex | undefined;
  private variableIndex: Map<string, BtfVariable> | undefined;
  private functionIndex: BtfNameIndex | undefined;

  constructor(bytes: Uint8Array, options: BtfParseOptions = {}) {
    this.source = options.source ?? 'BTF';
    this.pointerSize = options.pointerSize ?? 8;
    this.header = readBtfHeader(bytes, this.source);
    this.littleEndian = this.header.littleEndian;
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.strings = new BtfStrings(
      bytes,
      this.header.stringStart,
      this.header.stringEnd,
      this.source,
    );
    this.offsets = this.indexRecords();
    this.count = this.offsets.length;
  }

  private indexRecords(): Uint32Array {
    const { typeStart, typeEnd } = this.header;
    // Every record is at least 12 bytes, which bounds the number of ids before reading any.
    const offsets = new Uint32Array(Math.floor((typeEnd - typeStart) / BTF_TYPE_SIZE) + 1);
    let count = 1;
    let position = typeStart;
    while (position < typeEnd) {
      if (position + BTF_TYPE_SIZE > typeEnd) {
        throw this.error(
          `type ${count} at byte ${position} is cut off by the end of the type section`,
          position,
          'TRUNCATED',
        );
      }
      const info = this.view.getUint32(position + 4, this.littleEndian);
      const kind = (info >>> 24) & 0x1f;
      const trailing = trailingSize(kind, info & 0xffff);
      if (trailing < 0) {
        throw this.error(
          `type ${count} at byte ${position} has unknown kind ${kind}`,
          position,
          'UNSUPPORTED',
        );
      }
      const next = position + BTF_TYPE_SIZE + trailing;
      if (next > typeEnd) {
        throw this.error(
          `type ${count} (${BTF_KIND_NAMES[kind]}) at byte ${position} needs ${BTF_TYPE_SIZE + trailing} bytes, past the end of the type section`,
          position,
          'TRUNCATED',
        );
      }
      offsets[count++] = position;
      position = next;
    }
    return offsets.slice(0, count);
  }

  // ---- raw record access -------------------------------------------------------------------

  private u32(position: number): number {
    return this.view.getUint32(position, this.littleEndian);
  }

  private record(id: TypeId): number {
    if (!Number.isInteger(id) || id <= 0 || id >= this.count) {
      throw this.error(`type id ${id} is out of range (1..${this.count - 1})`);
    }
    return this.offsets[id]!;
  }

  /** A type id read from the record of `from`, checked against the table. */
  private reference(id: number, from: TypeId): TypeId {
    if (id >= this.count) {
      throw this.error(`type ${from} refers to type ${id}, past the last type ${this.count - 1}`);
    }
    return id;
  }

  /** The raw BTF kind number of a type (0 for void). */
  kindOf(id: TypeId): number {
    if (id === 0) return BtfKind.UNKNOWN;
    return (this.u32(this.record(id) + 4) >>> 24) & 0x1f;
  }

  /** The BTF kind name of a type: 'struct', 'var', 'datasec', 'decl_tag' … ('void' for 0). */
  kindName(id: TypeId): string {
    return BTF_KIND_NAMES[this.kindOf(id)]!;
  }

  /** The name of a type as BTF records it ('' for anonymous types and for void). */
  nameOf(id: TypeId): string {
    if (id === 0) return '';
    return this.strings.get(this.u32(this.record(id)));
  }

  // ---- TypeTable ---------------------------------------------------------------------------

  /**
   * The type with this id. VAR, DATASEC and DECL_TAG records are not types of data; they read as
   * void here (use `variables()` and `kindName()` for them).
   */
  get(id: TypeId): TypeInfo {
    if (id === 0) return VOID;
    const cached = this.decoded[id];
    if (cached !== undefined) return cached;
    const info = this.decode(id);
    this.decoded[id] = info;
    return info;
  }

  private decode(id: TypeId): TypeInfo {
    const position = this.record(id);
    const name = this.strings.get(this.u32(position));
    const info = this.u32(position + 4);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kindFlag = info >>> 31 === 1;
    const sizeOrType = this.u32(position + 8);
    const extra = position + BTF_TYPE_SIZE;
    switch (kind) {
      case BtfKind.INT: {
        const encoding = (this.u32(extra) >>> 24) & 0x0f;
        const int: TypeInfo = {
          kind: 'int',
          name,
          size: sizeOrType,
          signed: (encoding & BTF_INT_SIGNED) !== 0,
        };
        if ((encoding & BTF_INT_BOOL) !== 0) int.bool = true;
        if ((encoding & BTF_INT_CHAR) !== 0) int.char = true;
        return int;
      }
      case BtfKind.FLOAT:
        return { kind: 'float', name, size: sizeOrType };
      case BtfKind.PTR:
        return { kind: 'pointer', target: this.reference(sizeOrType, id) };
      case BtfKind.ARRAY:
        return {
          kind: 'array',
          element: this.reference(this.u32(extra), id),
          count: this.u32(extra + 8),
        };
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        return {
          kind: kind === BtfKind.STRUCT ? 'struct' : 'union',
          name,
          size: sizeOrType,
          members: this.decodeMembers(id, extra, vlen, kindFlag),
        };
      case BtfKind.ENUM:
      case BtfKind.ENUM64: {
        const values: { name: string; value: bigint }[] = [];
        const stride = kind === BtfKind.ENUM ? 8 : 12;
        for (let index = 0; index < vlen; index++) {
          const entry = extra + index * stride;
          const low = this.u32(entry + 4);
          let value: bigint;
          if (kind === BtfKind.ENUM) {
            value = kindFlag ? BigInt(low | 0) : BigInt(low);
          } else {
            const combined = (BigInt(this.u32(entry + 8)) << 32n) | BigInt(low);
            value = kindFlag ? BigInt.asIntN(64, combined) : combined;
          }
          values.push({ name: this.strings.get(this.u32(entry)), value });
        }
        return { kind: 'enum', name, size: sizeOrType, signed: kindFlag, values };
      }
      case BtfKind.FWD:
        return { kind: 'forward', name, union: kindFlag };
      case BtfKind.TYPEDEF:
        return { kind: 'typedef', name, target: this.reference(sizeOrType, id) };
      case BtfKind.VOLATILE:
        return { kind: 'qualifier', qualifier: 'volatile', target: this.reference(sizeOrType, id) };
      case BtfKind.CONST:
        return { kind: 'qualifier', qualifier: 'const', target: this.reference(sizeOrType, id) };
      case BtfKind.RESTRICT:
        return { kind: 'qualifier', qualifier: 'restrict', target: this.reference(sizeOrType, id) };
      case BtfKind.TYPE_TAG:
        return { kind: 'qualifier', qualifier: 'type_tag', target: this.reference(sizeOrType, id) };
      case BtfKind.FUNC:
      case BtfKind.FUNC_PROTO:
        return { kind: 'function', name };
      default:
        // VAR, DATASEC, DECL_TAG: annotations, not types of data.
        return VOID;
    }
  }

  private decodeMembers(id: TypeId, start: number, vlen: number, kindFlag: boolean): MemberInfo[] {
    const members: MemberInfo[] = new Array<MemberInfo>(vlen);
    for (let index = 0; index < vlen; index++) {
      const entry = start + index * 12;
      const type = this.reference(this.u32(entry + 4), id);
      const offset = this.u32(entry + 8);
      let bitOffset = kindFlag ? offset & 0xffffff : offset;
      let bitSize = kindFlag ? offset >>> 24 : 0;
      if (!kindFlag && type !== 0 && this.kindOf(type) === BtfKind.INT) {
        // Without kind_flag a bitfield is a member whose INT is narrower than its storage.
        const intPosition = this.record(type);
        const encoding = this.u32(intPosition + BTF_TYPE_SIZE);
        const bits = encoding & 0xff;
        const intOffset = (encoding >>> 16) & 0xff;
        if (intOffset !== 0 || bits !== this.u32(intPosition + 8) * 8) {
          bitOffset += intOffset;
          bitSize = bits;
        }
      }
      members[index] = { name: this.strings.get(this.u32(entry)), type, bitOffset, bitSize };
    }
    return members;
  }

  resolve(id: TypeId): TypeId {
    let current = id;
    for (let steps = 0; steps <= MAX_CHAIN; steps++) {
      const info = this.get(current);
      if (info.kind !== 'typedef' && info.kind !== 'qualifier') return current;
      current = info.target;
    }
    throw this.error(`typedef/qualifier chain from type ${id} does not end (a cycle?)`);
  }

  sizeOf(id: TypeId): number {
    let multiplier = 1;
    let current = id;
    for (let nesting = 0; nesting <= MAX_ARRAY_NESTING; nesting++) {
      const info = this.get(this.resolve(current));
      switch (info.kind) {
        case 'array':
          multiplier *= info.count;
          current = info.element;
          continue;
        case 'int':
        case 'float':
        case 'struct':
        case 'union':
        case 'enum':
          return this.checkedSize(multiplier * info.size, id);
        case 'pointer':
          return this.checkedSize(multiplier * this.pointerSize, id);
        default:
          return 0;
      }
    }
    throw this.error(`array type ${id} nests more than ${MAX_ARRAY_NESTING} levels (a cycle?)`);
  }

  private checkedSize(size: number, id: TypeId): number {
    if (!Number.isSafeInteger(size)) {
      throw this.error(`type ${id} has an absurd size (${size} bytes)`);
    }
    return size;
  }

  findStruct(name: string): TypeId | undefined {
    const candidates = this.named(name);
    for (const id of candidates) {
      const kind = this.kindOf(id);
      if (kind === BtfKind.STRUCT || kind === BtfKind.UNION) return id;
    }
    for (const id of candidates) {
      if (this.kindOf(id) !== BtfKind.TYPEDEF) continue;
      const target = this.resolve(id);
      const kind = this.kindOf(target);
      if (kind === BtfKind.STRUCT || kind === BtfKind.UNION) return target;
    }
    return undefined;
  }

  /**
   * Every type with this name among structs, unions, enums, typedefs, forwards, ints and floats
   * (in id order), optionally only those of one BTF kind name ('struct', 'typedef', 'enum' …).
   */
  findTypes(name: string, kind?: string): TypeId[] {
    const candidates = this.named(name);
    return kind === undefined
      ? [...candidates]
      : candidates.filter((id) => this.kindName(id) === kind);
  }

  field(struct: string, path: string): FieldLocation | undefined {
    const id = this.findStruct(struct);
    return id === undefined ? undefined : locateField(this, id, path);
  }

  /** All ids of data types: every id except VAR, DATASEC and DECL_TAG records. */
  *ids(): Iterable<TypeId> {
    yield 0;
    for (let id = 1; id < this.count; id++) {
      const kind = this.kindOf(id);
      if (kind !== BtfKind.VAR && kind !== BtfKind.DATASEC && kind !== BtfKind.DECL_TAG) yield id;
    }
  }

  /**
   * Return and parameter types of a FUNC_PROTO (or of the prototype of a FUNC); a trailing
   * `...` is reported as `variadic`.
   */
  prototypeOf(
    id: TypeId,
  ): { returnType: TypeId; parameters: TypeId[]; variadic: boolean } | undefined {
    let current = id;
    if (current !== 0 && this.kindOf(current) === BtfKind.FUNC) {
      current = this.reference(this.u32(this.record(current) + 8), id);
    }
    if (current === 0 || this.kindOf(current) !== BtfKind.FUNC_PROTO) return undefined;
    const position = this.record(current);
    const vlen = this.u32(position + 4) & 0xffff;
    const parameters: TypeId[] = [];
    let variadic = false;
    for (let index = 0; index < vlen; index++) {
      const entry = position + BTF_TYPE_SIZE + index * 8;
      const type = this.reference(this.u32(entry + 4), current);
      if (type === 0 && this.u32(entry) === 0 && index === vlen - 1) variadic = true;
      else parameters.push(type);
    }
    return { returnType: this.reference(this.u32(position + 8), current), parameters, variadic };
  }

  // ---- variables and functions ------------------------------------------------------------

  /** The VAR record of a kernel variable by name (per-CPU variables, and globals when present). */
  findVariable(name: string): BtfVariable | undefined {
    this.varIndex ??= this.nameIndex((kind) => kind === BtfKind.VAR);
    const id = this.varIndex.lookup(name)[0];
    return id === undefined ? undefined : this.variableAt(id, name);
  }

  private variableAt(id: TypeId, name: string): BtfVariable {
    const position = this.offsets[id]!;
    const type = this.reference(this.u32(position + 8), id);
    return { id, name, type, linkage: this.u32(position + BTF_TYPE_SIZE) };
  }

  /** Every VAR record by name (the first wins when a name repeats). */
  variables(): ReadonlyMap<string, BtfVariable> {
    if (this.variableIndex === undefined) {
      const index = new Map<string, BtfVariable>();
      for (let id = 1; id < this.count; id++) {
        if (this.kindOf(id) !== BtfKind.VAR) continue;
        const name = this.strings.get(this.u32(this.offsets[id]!));
        if (!index.has(name)) index.set(name, this.variableAt(id, name));
      }
      this.variableIndex = index;
    }
    return this.variableIndex;
  }

  /**
   * Every DATASEC record by name with its variables and their offsets in the section; in vmlinux,
   * `.data..percpu` gives each per-CPU variable's offset without any symbol table.
   */
  dataSections(): Map<string, { variable: BtfVariable; offset: number; size: number }[]> {
    const sections = new Map<string, { variable: BtfVariable; offset: number; size: number }[]>();
    for (let id = 1; id < this.count; id++) {
      const position = this.offsets[id]!;
      const info = this.u32(position + 4);
      if (((info >>> 24) & 0x1f) !== BtfKind.DATASEC) continue;
      const entries: { variable: BtfVariable; offset: number; size: number }[] = [];
      for (let index = 0; index < (info & 0xffff); index++) {
        const entry = position + BTF_TYPE_SIZE + index * 12;
        const variableId = this.reference(this.u32(entry), id);
        if (variableId === 0 || this.kindOf(variableId) !== BtfKind.VAR) continue;
        entries.push({
          variable: this.variableAt(variableId, this.nameOf(variableId)),
          offset: this.u32(entry + 4),
          size: this.u32(entry + 8),
        });
      }
      sections.set(this.strings.get(this.u32(position)), entries);
    }
    return sections;
  }

  /** The FUNC record of a kernel function by name. */
  findFunction(name: string): TypeId | undefined {
    this.functionIndex ??= this.nameIndex((kind) => kind === BtfKind.FUNC);
    return this.functionIndex.lookup(name)[0];
  }

  /** Ids of the indexed kinds (structs, typedefs …) with this name, in id order. */
  private named(name: string): TypeId[] {
    this.typeIndex ??= this.nameIndex((kind) => INDEXED_KINDS[kind] === true);
    return this.typeIndex.lookup(name);
  }

  /** A name index over the records whose kind passes `accept`; names past the section are left out. */
  private nameIndex(accept: (kind: number) => boolean): BtfNameIndex {
    const { stringStart, stringEnd } = this.header;
    return new BtfNameIndex(this.bytes, stringEnd, this.count, (id) => {
      const position = this.offsets[id]!;
      if (!accept((this.u32(position + 4) >>> 24) & 0x1f)) return -1;
      const nameOffset = this.u32(position);
      if (nameOffset === 0 || stringStart + nameOffset >= stringEnd) return -1;
      return stringStart + nameOffset;
    });
  }

  private error(
    message: string,
    offset?: number,
    code: 'BAD_INPUT' | 'TRUNCATED' | 'UNSUPPORTED' = 'BAD_INPUT',
  ): InputError {
    return new InputError(message, this.source, { code, offset });
  }
}

const VOID: TypeInfo = Object.freeze({ kind: 'void' });

const INDEXED_KINDS: readonly boolean[] = (() => {
  const kinds = new Array<boolean>(32).fill(false);
  for (const kind of [
    BtfKind.INT,
    BtfKind.STRUCT,
    BtfKind.UNION,
    BtfKind.ENUM,
    BtfKind.ENUM64,
    BtfKind.FWD,
    BtfKind.TYPEDEF,
    BtfKind.FLOAT,
  ]) {
    kinds[kind] = true;
  }
  return kinds;
})();
