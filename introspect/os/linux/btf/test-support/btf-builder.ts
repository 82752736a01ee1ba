// Builds BTF bytes in code for tests: each method appends one record and returns its type id, and
// `build` can corrupt the header on purpose to exercise the parser's checks.
import { BTF_MAGIC, BtfKind } from '../format.js';

export interface BuiltMember {
  name: string;
  type: number;
  /** Bit offset in the struct. */
  bitOffset: number;
  /** Bitfield width (needs the struct's kind_flag). */
  bitSize?: number;
}

export interface BuildOptions {
  magic?: number;
  version?: number;
  headerLength?: number;
  bigEndian?: boolean;
  /** Added to the declared type/string section lengths (to declare more than is there). */
  typeLengthDelta?: number;
  stringLengthDelta?: number;
}

const QUALIFIER_KINDS = {
  const: BtfKind.CONST,
  volatile: BtfKind.VOLATILE,
  restrict: BtfKind.RESTRICT,
  type_tag: BtfKind.TYPE_TAG,
} as const;

export class BtfBuilder {
  private readonly records: number[][] = [];
  private readonly stringBytes: number[] = [0];
  private readonly stringOffsets = new Map<string, number>([['', 0]]);

  /** The id the next record will get (ids start at 1; 0 is void). */
  get nextId(): number {
    return this.records.length + 1;
  }

  string(name: string): number {
    const known = this.stringOffsets.get(name);
    if (known !== undefined) return known;
    const offset = this.stringBytes.length;
    this.stringBytes.push(...new TextEncoder().encode(name), 0);
    this.stringOffsets.set(name, offset);
    return offset;
  }

  /** Appends a record as raw words: name offset, info, size/type, then the trailing words. */
  raw(nameOffset: number, info: number, sizeOrType: number, trailing: number[] = []): number {
    this.records.push([nameOffset, info >>> 0, sizeOrType >>> 0, ...trailing.map((w) => w >>> 0)]);
    return this.records.length;
  }

  private add(
    kind: number,
    name: string,
    sizeOrType: number,
    trailing: number[] = [],
    vlen = 0,
    kindFlag = false,
  ): number {
    const info = ((kindFlag ? 1 : 0) << 31) | (kind << 24) | vlen;
    return this.raw(this.string(name), info, sizeOrType, trailing);
  }

  int(
    name: string,
    size: number,
    options: {
      signed?: boolean;
      char?: boolean;
      bool?: boolean;
      bits?: number;
      offset?: number;
    } = {},
  ): number {
    const encoding = (options.signed ? 1 : 0) | (options.char ? 2 : 0) | (options.bool ? 4 : 0);
    const word = (encoding << 24) | ((options.offset ?? 0) << 16) | (options.bits ?? size * 8);
    return this.add(BtfKind.INT, name, size, [word]);
  }

  float(name: string, size: number): number {
    return this.add(BtfKind.FLOAT, name, size);
  }

  pointer(target: number): number {
    return this.add(BtfKind.PTR, '', target);
  }

  array(element: number, count: number, indexType = 0): number {
    return this.add(BtfKind.ARRAY, '', 0, [element, indexType, count]);
  }

  struct(name: string, size: number, members: BuiltMember[], kindFlag = false): number {
    return this.composite(BtfKind.STRUCT, name, size, members, kindFlag);
  }

  union(name: string, size: number, members: BuiltMember[], kindFlag = false): number {
    return this.composite(BtfKind.UNION, name, size, members, kindFlag);
  }

  private composite(
    kind: number,
    name: string,
    size: number,
    members: BuiltMember[],
    kindFlag: boolean,
  ): number {
    const words = members.flatMap((member) => [
      this.string(member.name),
      member.type,
      kindFlag ? ((member.bitSize ?? 0) << 24) | member.bitOffset : member.bitOffset,
    ]);
    return this.add(kind, name, size, words, members.length, kindFlag);
  }

  enum(name: string, size: number, values: [string, number][], signed = false): number {
    const words = values.flatMap(([entry, value]) => [this.string(entry), value]);
    return this.add(BtfKind.ENUM, name, size, words, values.length, signed);
  }

  enum64(name: string, size: number, values: [string, bigint][], signed = false): number {
    const words = values.flatMap(([entry, value]) => {
      const unsigned = BigInt.asUintN(64, value);
      return [this.string(entry), Number(unsigned & 0xffffffffn), Number(unsigned >> 32n)];
    });
    return this.add(BtfKind.ENUM64, name, size, words, values.length, signed);
  }

  forward(name: string, union = false): number {
    return this.add(BtfKind.FWD, name, 0, [], 0, union);
  }

  typedef(name: string, target: number): number {
    return this.add(BtfKind.TYPEDEF, name, target);
  }

  qualifier(qualifier: keyof typeof QUALIFIER_KINDS, target: number, tag = ''): number {
    return this.add(QUALIFIER_KINDS[qualifier], qualifier === 'type_tag' ? tag : '', target);
  }

  funcProto(returnType: number, parameters: { name: string; type: number }[]): number {
    const words = parameters.flatMap((parameter) => [this.string(parameter.name), parameter.type]);
    return this.add(BtfKind.FUNC_PROTO, '', returnType, words, parameters.length);
  }

  func(name: string, proto: number, linkage = 1): number {
    return this.add(BtfKind.FUNC, name, proto, [], linkage);
  }

  variable(name: string, type: number, linkage = 1): number {
    return this.add(BtfKind.VAR, name, type, [linkage]);
  }

  datasec(
    name: string,
    size: number,
    entries: { type: number; offset: number; size: number }[],
  ): number {
    const words = entries.flatMap((entry) => [entry.type, entry.offset, entry.size]);
    return this.add(BtfKind.DATASEC, name, size, words, entries.length);
  }

  declTag(name: string, type: number, componentIndex = -1): number {
    return this.add(BtfKind.DECL_TAG, name, type, [componentIndex]);
  }

  build(options: BuildOptions = {}): Uint8Array {
    const littleEndian = options.bigEndian !== true;
    const headerLength = options.headerLength ?? 24;
    const typeLength = this.records.reduce((sum, record) => sum + record.length * 4, 0);
    const stringLength = this.stringBytes.length;
    // A corrupt header length still places the sections right after a 24-byte header.
    const dataStart = headerLength >= 24 && headerLength <= 4096 ? headerLength : 24;
    const bytes = new Uint8Array(dataStart + typeLength + stringLength);
    const view = new DataView(bytes.buffer);
    view.setUint16(0, options.magic ?? BTF_MAGIC, littleEndian);
    view.setUint8(2, options.version ?? 1);
    view.setUint8(3, 0);
    view.setUint32(4, headerLength, littleEndian);
    view.setUint32(8, 0, littleEndian);
    view.setUint32(12, typeLength + (options.typeLengthDelta ?? 0), littleEndian);
    view.setUint32(16, typeLength, littleEndian);
    view.setUint32(20, stringLength + (options.stringLengthDelta ?? 0), littleEndian);
    let position = dataStart;
    for (const record of this.records) {
      for (const word of record) {
        view.setUint32(position, word, littleEndian);
        position += 4;
      }
    }
    bytes.set(this.stringBytes, position);
    return bytes;
  }
}
