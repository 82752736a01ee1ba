// Typed reads of kernel memory through the kernel's address space: integers, pointers, C strings and
// struct fields located through the kernel's own types (never hard-coded offsets).
import { GuestStructureError, RingsideError } from '../../errors.js';
import type { AddressSpace } from '../../memory/types.js';
import type { FieldLocation, TypeTable } from './profile/types.js';

export class KernelReader {
  private readonly scratch = new Uint8Array(8);
  private readonly scratchView = new DataView(this.scratch.buffer);
  private readonly fields = new Map<string, FieldLocation>();

  constructor(
    readonly space: AddressSpace,
    readonly types: TypeTable,
  ) {}

  bytes(address: bigint, length: number): Uint8Array {
    const target = new Uint8Array(length);
    this.space.readInto(address, target);
    return target;
  }

  u64(address: bigint): bigint {
    this.space.readInto(address, this.scratch);
    return this.scratchView.getBigUint64(0, true);
  }

  u32(address: bigint): number {
    this.space.readInto(address, this.scratch.subarray(0, 4));
    return this.scratchView.getUint32(0, true);
  }

  i32(address: bigint): number {
    this.space.readInto(address, this.scratch.subarray(0, 4));
    return this.scratchView.getInt32(0, true);
  }

  /** A NUL-terminated string of at most `max` bytes (fixed arrays such as comm need no NUL). */
  cString(address: bigint, max: number): string {
    return this.readCString(address, max).text;
  }

  /**
   * Reads a string page by page, so one that ends just before an unmapped page is still read;
   * `length` counts the bytes before the NUL (or `max`).
   */
  readCString(address: bigint, max: number): { text: string; length: number } {
    const parts: Uint8Array[] = [];
    let length = 0;
    let current = address;
    while (length < max) {
      const count = Math.min(max - length, 4096 - Number(current & 0xfffn));
      const bytes = this.bytes(current, count);
      const end = bytes.indexOf(0);
      if (end >= 0) {
        parts.push(bytes.subarray(0, end));
        length += end;
        break;
      }
      parts.push(bytes);
      length += count;
      current += BigInt(count);
    }
    return { text: Buffer.concat(parts).toString('utf8'), length };
  }

  /** Location of `struct.path` from the kernel's types; a missing field is a clear error. */
  field(struct: string, path: string): FieldLocation {
    const key = `${struct}.${path}`;
    let location = this.fields.get(key);
    if (!location) {
      location = this.types.field(struct, path);
      if (!location) {
        throw new RingsideError('NOT_FOUND', `the kernel's types have no field ${struct}.${path}`);
      }
      this.fields.set(key, location);
    }
    return location;
  }

  offset(struct: string, path: string): bigint {
    return BigInt(this.field(struct, path).offset);
  }

  hasField(struct: string, path: string): boolean {
    return this.fields.has(`${struct}.${path}`) || this.types.field(struct, path) !== undefined;
  }

  /** Reads an integer field of 1, 2, 4 or 8 bytes (bitfields included) as a bigint. */
  fieldValue(base: bigint, struct: string, path: string): bigint {
    const location = this.field(struct, path);
    const size = location.bitSize > 0 ? 8 : this.types.sizeOf(location.type);
    const address = base + BigInt(location.offset);
    let value: bigint;
    switch (size) {
      case 1:
        value = BigInt(this.bytes(address, 1)[0]!);
        break;
      case 2: {
        const bytes = this.bytes(address, 2);
        value = BigInt(bytes[0]! | (bytes[1]! << 8));
        break;
      }
      case 4:
        value = BigInt(this.u32(address));
        break;
      case 8:
        value = this.u64(address);
        break;
      default:
        throw new GuestStructureError(`${struct}.${path} is ${size} bytes, not an integer`);
    }
    if (location.bitSize > 0) {
      const shift = BigInt(location.bitOffset % 8);
      value = (value >> shift) & ((1n << BigInt(location.bitSize)) - 1n);
    }
    return value;
  }

  fieldNumber(base: bigint, struct: string, path: string): number {
    return Number(this.fieldValue(base, struct, path));
  }

  private readonly structSizes = new Map<string, number>();

  /**
   * Reads a struct once (all of it, or the span holding `fields`); its fields are then decoded from
   * the copy: one read, not one per field.
   */
  struct(address: bigint, struct: string, fields?: readonly string[]): StructCopy {
    let size = this.structSizes.get(struct);
    if (size === undefined) {
      const id = this.types.findStruct(struct);
      if (id === undefined)
        throw new RingsideError('NOT_FOUND', `the kernel's types have no struct ${struct}`);
      size = this.types.sizeOf(id);
      if (size <= 0 || size > 1 << 20)
        throw new GuestStructureError(`struct ${struct} has an implausible size ${size}`);
      this.structSizes.set(struct, size);
    }
    if (!fields || fields.length === 0)
      return new StructCopy(this, struct, address, this.bytes(address, size), 0);
    // Only the span that holds the fields asked for: task_struct is ~10 KiB, a task list needs ~3.
    let low = size;
    let high = 0;
    for (const path of fields) {
      const location = this.field(struct, path);
      const bytes = fieldBytes(location, this.types);
      // The types come from guest memory too: a field they put past the struct is corrupt data.
      if (location.offset < 0 || location.offset + bytes > size)
        throw new GuestStructureError(
          `${struct}.${path} (offset ${location.offset}, ${bytes} bytes) lies outside the struct (${size} bytes): corrupt types`,
        );
      low = Math.min(low, location.offset);
      // A bitfield is decoded from up to 8 bytes: take them when the struct has them.
      high = Math.max(
        high,
        location.bitSize > 0 ? Math.min(location.offset + 8, size) : location.offset + bytes,
      );
    }
    high = Math.max(high, low);
    return new StructCopy(
      this,
      struct,
      address,
      this.bytes(address + BigInt(low), high - low),
      low,
    );
  }
}

/** Bytes a field occupies: a bitfield's from its first bit to its last. */
function fieldBytes(location: FieldLocation, types: TypeTable): number {
  if (location.bitSize > 0) return Math.ceil(((location.bitOffset % 8) + location.bitSize) / 8);
  return types.sizeOf(location.type);
}

export class StructCopy {
  private readonly view: DataView;

  constructor(
    private readonly reader: KernelReader,
    readonly struct: string,
    readonly address: bigint,
    readonly bytes: Uint8Array,
    /** Offset in the struct of the copy's first byte (a copy may hold only some fields). */
    private readonly base = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /**
   * Offset of a field's `size` bytes in the copy. The offsets come from the kernel's types, read from
   * guest memory: a field the copy does not hold is a typed error, never a RangeError.
   */
  offset(path: string, size = 1): number {
    return this.at(this.reader.field(this.struct, path).offset, path, size);
  }

  private at(offset: number, path: string, size: number): number {
    const at = offset - this.base;
    if (at < 0 || at + size > this.bytes.length)
      throw new GuestStructureError(
        `${this.struct}.${path} (offset ${offset}, ${size} bytes) is outside the ${this.bytes.length} bytes read of the struct: corrupt types`,
      );
    return at;
  }

  u64(path: string): bigint {
    return this.view.getBigUint64(this.offset(path, 8), true);
  }

  u32(path: string): number {
    return this.view.getUint32(this.offset(path, 4), true);
  }

  i32(path: string): number {
    return this.view.getInt32(this.offset(path, 4), true);
  }

  /** An integer field of 1, 2, 4 or 8 bytes, bitfields included. */
  value(path: string): bigint {
    const location = this.reader.field(this.struct, path);
    if (location.bitSize > 0) {
      const at = this.at(location.offset, path, fieldBytes(location, this.reader.types));
      let value = 0n;
      const end = Math.min(at + 8, this.bytes.length);
      for (let index = end - 1; index >= at; index--)
        value = (value << 8n) | BigInt(this.bytes[index]!);
      return (value >> BigInt(location.bitOffset % 8)) & ((1n << BigInt(location.bitSize)) - 1n);
    }
    const size = this.reader.types.sizeOf(location.type);
    const at = this.at(location.offset, path, size === 1 || size === 2 || size === 4 ? size : 8);
    let value: bigint;
    if (size === 1) value = BigInt(this.view.getUint8(at));
    else if (size === 2) value = BigInt(this.view.getUint16(at, true));
    else if (size === 4) value = BigInt(this.view.getUint32(at, true));
    else if (size === 8) value = this.view.getBigUint64(at, true);
    else throw new GuestStructureError(`${this.struct}.${path} is ${size} bytes, not an integer`);
    return value;
  }

  cString(path: string, max: number): string {
    const at = this.offset(path, 1);
    const slice = this.bytes.subarray(at, at + max);
    const end = slice.indexOf(0);
    return Buffer.from(slice.buffer, slice.byteOffset, end < 0 ? slice.length : end).toString(
      'utf8',
    );
  }
}
