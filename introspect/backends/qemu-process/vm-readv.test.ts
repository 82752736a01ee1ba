// When the kernel's copy would run into 4K aliasing (the destination a few bytes past the source
// within a page), so process_vm_readv is sent through the staging buffer instead.
import { aliases, pageSkew } from './vm-readv.js';

describe('pageSkew and aliases', () => {
  it('measure how far the destination lies past the source within a page', () => {
    expect(pageSkew(0x7f00_0000_1010, 0x7e00_0000_2000)).toBe(16);
    expect(pageSkew(0x1000, 0x1010)).toBe(4096 - 16);
    expect(pageSkew(0x5000, 0x3000)).toBe(0);
  });

  it('flag only a destination 1–63 bytes ahead', () => {
    expect(aliases(0x1010, 0x2000)).toBe(true); // a Node buffer of 128 KiB or more: page + 16
    expect(aliases(0x103f, 0x2000)).toBe(true);
    expect(aliases(0x1040, 0x2000)).toBe(false);
    expect(aliases(0x1000, 0x2000)).toBe(false);
    expect(aliases(0x1000, 0x2010)).toBe(false); // behind the source: the copy runs at full speed
  });
});
