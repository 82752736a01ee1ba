// Where LibvmiPhysicalMemory says a guest's RAM is: from 0 on x86 and in files, in Xen's guest RAM
// banks on ARM (the ARM64 Xen lab's dom0less domU: 256 MiB at 1 GiB, LibVMI's max address 0x50000000).
import { libvmiRanges } from './libvmi-memory.js';

describe('libvmiRanges', () => {
  it('starts at 0 for x86 Xen, KVMi and memory files', () => {
    expect(libvmiRanges('xen', 'x64', 0x1000_0000n)).toEqual([{ start: 0n, end: 0x1000_0000n }]);
    expect(libvmiRanges('kvm', 'x64', 0x2000n)).toEqual([{ start: 0n, end: 0x2000n }]);
    expect(libvmiRanges('file', 'arm64', 0x4000n)).toEqual([{ start: 0n, end: 0x4000n }]);
  });

  it("puts an ARM Xen guest's RAM in Xen's first bank, at 1 GiB", () => {
    expect(libvmiRanges('xen', 'arm64', 0x5000_0000n)).toEqual([
      { start: 0x4000_0000n, end: 0x5000_0000n },
    ]);
  });

  it('adds the second bank (at 8 GiB) for an ARM Xen guest with more than 3 GiB', () => {
    expect(libvmiRanges('xen', 'arm64', 0x2_4000_0000n)).toEqual([
      { start: 0x4000_0000n, end: 0x1_0000_0000n },
      { start: 0x2_0000_0000n, end: 0x2_4000_0000n },
    ]);
  });

  it('has no range when LibVMI reports nothing above the first bank', () => {
    expect(libvmiRanges('xen', 'arm64', 0x4000_0000n)).toEqual([]);
  });
});
