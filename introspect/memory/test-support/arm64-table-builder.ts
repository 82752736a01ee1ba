// Builds AArch64 translation tables in a byte buffer for tests: any granule, start level and size, page
// and block descriptors at chosen levels, for stage 1 or stage 2. Tables come from a bump allocator.
import { BufferMemory } from '../buffer-memory.js';
import { levelShift, type Granule } from '../arm64/granule.js';
import { bitsBetween, descriptorAddress } from '../arm64/walk.js';

export interface Arm64TableBuilderOptions {
  granule: Granule;
  startLevel: number;
  inputBits: number;
  /** FEAT_LPA2 descriptors (52-bit output on 4K/16K). */
  ds?: boolean;
  /** Output width; 52 with a 64K granule puts address bits 51:48 in descriptor bits 15:12. */
  outputBits?: number;
  /** Share a buffer with another builder (stage-1 tables inside stage-2-mapped memory). */
  bytes?: Uint8Array;
  /** Buffer size when not shared. Default 8 MiB. */
  size?: number;
  /** Buffer offset of the first table. Default one granule. */
  tablesFrom?: number;
  /**
   * Added to buffer offsets to give the addresses the walker sees: 0 for physical memory, the IPA of
   * buffer offset 0 for stage-1 tables that live behind stage 2.
   */
  bias?: bigint;
}

/** Stage-1 leaf attributes: AF set, EL1 read-write, inner-shareable normal memory (AttrIndx 0). */
export const S1_KERNEL_RW = (1n << 10n) | (3n << 8n);
export const S1_AP_EL0 = 1n << 6n;
export const S1_AP_READ_ONLY = 1n << 7n;
export const S1_PXN = 1n << 53n;
export const S1_UXN = 1n << 54n;
/** Stage-2 leaf attributes: AF set, read and write allowed (S2AP = 11), normal memory. */
export const S2_READ_WRITE = (1n << 10n) | (3n << 6n) | (0xfn << 2n);

export class Arm64TableBuilder {
  readonly bytes: Uint8Array;
  readonly root: bigint;
  readonly granule: Granule;
  readonly ds: boolean;
  readonly outputBits: number;
  private readonly view: DataView;
  private readonly bias: bigint;
  private next: number;

  constructor(readonly options: Arm64TableBuilderOptions) {
    this.granule = options.granule;
    this.ds = options.ds ?? false;
    this.outputBits = options.outputBits ?? 48;
    this.bytes = options.bytes ?? new Uint8Array(options.size ?? 8 << 20);
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
    this.bias = options.bias ?? 0n;
    this.next = options.tablesFrom ?? this.granule.size;
    const topBits = options.inputBits - levelShift(this.granule, options.startLevel);
    this.root = this.allocate(Math.max(8 << topBits, 64));
  }

  /** A zeroed table of `bytes` (one granule by default), aligned to its size, as a walker address. */
  allocate(bytes: number = this.granule.size): bigint {
    const alignment = Math.max(bytes, 64);
    const offset = Math.ceil(this.next / alignment) * alignment;
    if (offset + bytes > this.bytes.length) throw new Error('AArch64 table builder out of space');
    this.next = offset + bytes;
    this.bytes.fill(0, offset, offset + bytes);
    return BigInt(offset) + this.bias;
  }

  entryAt(address: bigint): bigint {
    return this.view.getBigUint64(Number(address - this.bias), true);
  }

  setEntry(address: bigint, value: bigint): void {
    this.view.setBigUint64(Number(address - this.bias), value, true);
  }

  /** Descriptor bits that hold `address` (the inverse of descriptorAddress). */
  encodeAddress(address: bigint): bigint {
    const { pageShift } = this.granule;
    if (this.ds) return (address & bitsBetween(49, pageShift)) | (((address >> 50n) & 3n) << 8n);
    const low = address & bitsBetween(47, pageShift);
    if (pageShift === 16 && this.outputBits === 52) return low | (((address >> 48n) & 0xfn) << 12n);
    return low;
  }

  /** Address of the entry for `input` at `level`, creating the tables above it. */
  entryAddress(input: bigint, level: number): bigint {
    const { startLevel, inputBits } = this.options;
    let table = this.root;
    for (let current = startLevel; ; current++) {
      const shift = levelShift(this.granule, current);
      const bits = current === startLevel ? inputBits - shift : this.granule.stride;
      const entryAddress = table + ((input >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n)) * 8n;
      if (current === level) return entryAddress;
      let entry = this.entryAt(entryAddress);
      if ((entry & 3n) !== 3n) {
        entry = this.encodeAddress(this.allocate()) | 3n;
        this.setEntry(entryAddress, entry);
      }
      table = descriptorAddress(entry, this.granule, this.ds, this.outputBits);
    }
  }

  /** Maps `input` to `output` with a page (level 3) or a block (a lower level). */
  map(input: bigint, output: bigint, level = 3, attributes = S1_KERNEL_RW): bigint {
    const entryAddress = this.entryAddress(input, level);
    // With FEAT_LPA2 bits 9:8 hold output-address bits, and shareability comes from TCR instead.
    const kept = this.ds ? attributes & ~(3n << 8n) : attributes;
    this.setEntry(entryAddress, this.encodeAddress(output) | kept | (level === 3 ? 3n : 1n));
    return entryAddress;
  }

  /** ORs bits into the table descriptor that leads from `level` to the next level for `input`. */
  setTableBits(input: bigint, level: number, bits: bigint): void {
    const entryAddress = this.entryAddress(input, level);
    this.setEntry(entryAddress, this.entryAt(entryAddress) | bits);
  }

  memory(name = 'arm64-tables'): BufferMemory {
    return new BufferMemory(this.bytes, this.bias, name);
  }

  reader(): (address: bigint) => bigint | undefined {
    return (address) => {
      const offset = address - this.bias;
      return offset >= 0n && offset + 8n <= BigInt(this.bytes.length)
        ? this.view.getBigUint64(Number(offset), true)
        : undefined;
    };
  }
}

export interface TcrFields {
  t0sz: number;
  t1sz: number;
  granule0: number;
  granule1: number;
  /** IPS encoding: 5 = 48 bits, 6 = 52 bits. Default 5. */
  ips?: number;
  ds?: boolean;
  epd0?: boolean;
  epd1?: boolean;
  tbi0?: boolean;
  tbi1?: boolean;
  hpd0?: boolean;
  hpd1?: boolean;
}

/** TCR_EL1 from its fields (TG0 and TG1 use their different encodings). */
export function encodeTcr(fields: TcrFields): bigint {
  const tg0 = { 4096: 0n, 65536: 1n, 16384: 2n }[fields.granule0]!;
  const tg1 = { 16384: 1n, 4096: 2n, 65536: 3n }[fields.granule1]!;
  const bit = (set: boolean | undefined, position: bigint): bigint => (set ? 1n << position : 0n);
  return (
    BigInt(fields.t0sz) |
    (tg0 << 14n) |
    (BigInt(fields.t1sz) << 16n) |
    (tg1 << 30n) |
    (BigInt(fields.ips ?? 5) << 32n) |
    bit(fields.epd0, 7n) |
    bit(fields.epd1, 23n) |
    bit(fields.tbi0, 37n) |
    bit(fields.tbi1, 38n) |
    bit(fields.hpd0, 41n) |
    bit(fields.hpd1, 42n) |
    bit(fields.ds, 59n)
  );
}

/** VTCR_EL2 from its fields. */
export function encodeVtcr(fields: {
  t0sz: number;
  granule: number;
  sl0: number;
  ps?: number;
  ds?: boolean;
  sl2?: boolean;
}): bigint {
  const tg0 = { 4096: 0n, 65536: 1n, 16384: 2n }[fields.granule]!;
  return (
    BigInt(fields.t0sz) |
    (BigInt(fields.sl0) << 6n) |
    (tg0 << 14n) |
    (BigInt(fields.ps ?? 5) << 16n) |
    (fields.ds ? 1n << 32n : 0n) |
    (fields.sl2 ? 1n << 33n : 0n)
  );
}

/** TTBR / VTTBR value for a table at `base` (bits 51:48 in bits 5:2 when output is 52 bits). */
export function encodeTtbr(base: bigint, outputBits = 48): bigint {
  if (outputBits !== 52) return base;
  return (base & bitsBetween(47, 6)) | (((base >> 48n) & 0xfn) << 2n);
}
