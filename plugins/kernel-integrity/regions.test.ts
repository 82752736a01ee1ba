import { identitySpace } from '../../introspect/memory/test-support/identity-space.js';
import { KernelReader } from '../../introspect/os/linux/kernel-reader.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import type { TypeTable } from '../../introspect/os/linux/profile/types.js';
import { ProtectedRegions } from './regions.js';

function kernel(bytes: Uint8Array): LinuxKernel {
  return {
    reader: new KernelReader(identitySpace(bytes), {} as TypeTable),
  } as unknown as LinuxKernel;
}

describe('ProtectedRegions', () => {
  it('maps a region to its frames and a written physical address back to the region byte', () => {
    const bytes = new Uint8Array(0x8000).map((_, index) => index & 0xff);
    const regions = new ProtectedRegions(kernel(bytes));
    const table = regions.add('syscall_table', 0x1800n, 0x2000);
    expect(table.frames).toEqual([1n, 2n, 3n]);
    expect(table.shadow[0]).toBe(0x00);
    expect(regions.locate(0x2004n)).toEqual({ region: table, offset: 0x804, address: 0x2004n });
    // The same frame, outside the region's bytes: not a protected write.
    expect(regions.locate(0x1004n)).toBeUndefined();
    expect(regions.locate(0x3a00n)).toBeUndefined();
    expect(regions.locate(0x7000n)).toBeUndefined();
  });

  it('keeps a copy of the bytes as they were, not a view of live memory', () => {
    const bytes = new Uint8Array(0x4000);
    const regions = new ProtectedRegions(kernel(bytes));
    const idt = regions.add('idt', 0x1000n, 0x1000);
    bytes[0x1000] = 0xcc;
    expect(idt.shadow[0]).toBe(0);
  });

  it('refuses an empty region', () => {
    const regions = new ProtectedRegions(kernel(new Uint8Array(0x1000)));
    expect(() => regions.add('kernel_text', 0n, 0)).toThrow(/kernel_text region is empty/);
  });
});
