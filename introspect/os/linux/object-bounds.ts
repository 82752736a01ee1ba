// Bounds for walks over guest objects, from what the guest's memory can physically hold: no more
// distinct task_structs than RAM can hold, and no two of them overlapping. A hostile
// list of look-alike objects (a "sled" of nodes a few bytes apart) is refused at its second node.
import { GuestStructureError } from '../../errors.js';
import type { KernelReader } from './kernel-reader.js';

/**
 * The fewest bytes one `struct` can take: the offset of its last member, because a struct may end in
 * a variable-sized member (x86's task_struct ends in thread.fpu, whose state the kernel sizes at boot:
 * real tasks lie closer together than sizeof(task_struct)).
 */
export function minimumSize(reader: KernelReader, struct: string): number {
  const id = reader.types.findStruct(struct);
  if (id === undefined) return 1;
  const type = reader.types.get(id);
  const size = reader.types.sizeOf(id);
  if (type.kind !== 'struct' || type.members.length === 0) return Math.max(1, size);
  const last = Math.max(...type.members.map((member) => Math.floor(member.bitOffset / 8)));
  return Math.max(1, Math.min(size, last));
}

/** How many distinct `struct`s the guest's RAM can hold (at least 1). */
export function memoryCapacity(reader: KernelReader, struct: string): number {
  const size = minimumSize(reader, struct);
  const ram = reader.space.physical
    .ranges()
    .reduce((sum, range) => sum + Number(range.end - range.start), 0);
  return size > 0 ? Math.max(1, Math.floor(ram / size)) : Number.MAX_SAFE_INTEGER;
}

/**
 * Objects of one size that must not overlap: each is filed under address / size, so an overlapping
 * one is in its own bucket or a neighbour — one lookup, whatever the number of objects.
 */
export class DisjointObjects {
  private readonly buckets = new Map<bigint, bigint>();
  private readonly size: bigint;

  constructor(
    readonly struct: string,
    size: number,
  ) {
    this.size = BigInt(Math.max(1, size));
  }

  static of(reader: KernelReader, struct: string): DisjointObjects {
    return new DisjointObjects(struct, minimumSize(reader, struct));
  }

  /** The object already seen that `address` overlaps (not itself), if any. */
  overlapping(address: bigint): bigint | undefined {
    const bucket = address / this.size;
    for (const near of [bucket - 1n, bucket, bucket + 1n]) {
      const other = this.buckets.get(near);
      if (other === undefined || other === address) continue;
      const distance = other > address ? other - address : address - other;
      if (distance < this.size) return other;
    }
    return undefined;
  }

  /** Files `address`; a forged object overlapping one already seen is a GuestStructureError. */
  add(address: bigint): void {
    const other = this.overlapping(address);
    if (other !== undefined)
      throw new GuestStructureError(
        `${this.struct} at 0x${address.toString(16)} overlaps the one at 0x${other.toString(16)} (${this.size} bytes each): a forged list`,
      );
    const bucket = address / this.size;
    // Disjoint objects never share a bucket... unless one is the same object seen again.
    if (!this.buckets.has(bucket)) this.buckets.set(bucket, address);
  }
}
