// An address space where virtual = physical over a byte buffer: enough for tests of kernel readers.
import { BufferMemory } from '../buffer-memory.js';
import type { AddressSpace } from '../types.js';

export function identitySpace(bytes: Uint8Array): AddressSpace {
  const physical = new BufferMemory(bytes, 0n, 'guest');
  return {
    name: 'identity',
    physical,
    translate: (address) => ({
      ok: true,
      physical: address,
      pageSize: 4096,
      writable: true,
      user: false,
      executable: false,
    }),
    readInto: (address, target) => physical.readInto(address, target),
  };
}
