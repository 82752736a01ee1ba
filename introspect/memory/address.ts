// Guest addresses are bigint, branded so that a physical address is never passed where a virtual one
// is expected (and vice versa). Helpers to make and print them.

export type PhysAddr = bigint & { readonly __brand: 'PhysAddr' };
export type VirtAddr = bigint & { readonly __brand: 'VirtAddr' };

export const phys = (value: bigint | number): PhysAddr => BigInt(value) as PhysAddr;
export const virt = (value: bigint | number): VirtAddr => BigInt(value) as VirtAddr;

/** 0x-prefixed lowercase hex, as every Ringside output prints addresses. */
export const hex = (value: bigint | number): string => `0x${value.toString(16)}`;

/** Parses "0x…" or decimal; throws RangeError with the text when it is not an address. */
export function parseAddress(text: string): bigint {
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(text.trim())) {
    throw new RangeError(`not an address: ${JSON.stringify(text)}`);
  }
  return BigInt(text.trim());
}
