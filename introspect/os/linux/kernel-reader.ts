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
}
