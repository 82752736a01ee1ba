// Guest-physical memory read through LibVMI (vmi_read_pa): one C call per read, whatever its length;
// LibVMI itself goes page by page underneath.
import type { PhysicalMemory, PhysicalRange } from '../../memory/types.js';
import type { VmiModeName } from './layouts.js';
import type { LibvmiInstance } from './libvmi-instance.js';

/** Xen on ARM: a guest's RAM banks (GUEST_RAM0/1_BASE and _SIZE, xen/include/public/arch-arm.h). */
const XEN_ARM_RAM_BANKS: readonly PhysicalRange[] = [
  { start: 0x4000_0000n, end: 0x4000_0000n + 0xc000_0000n },
  { start: 0x2_0000_0000n, end: 0x2_0000_0000n + 0xfe_0000_0000n },
];

/**
 * Where a LibVMI guest's RAM is, up to LibVMI's highest guest-physical address: from 0 on x86; on
 * ARM Xen (LibVMI built for arm64 reaches only arm64 guests) in Xen's guest RAM banks, the first at
 * 1 GiB, so that nothing scans the 1 GiB of nothing (MMIO) below it.
 */
export function libvmiRanges(
  mode: VmiModeName,
  hostArch: string,
  maxPhysicalAddress: bigint,
): PhysicalRange[] {
  if (mode !== 'xen' || hostArch !== 'arm64') return [{ start: 0n, end: maxPhysicalAddress }];
  return XEN_ARM_RAM_BANKS.filter((bank) => bank.start < maxPhysicalAddress).map((bank) => ({
    start: bank.start,
    end: bank.end < maxPhysicalAddress ? bank.end : maxPhysicalAddress,
  }));
}

export class LibvmiPhysicalMemory implements PhysicalMemory {
  readonly name: string;
  private readonly extent: readonly PhysicalRange[];

  constructor(private readonly instance: LibvmiInstance) {
    this.name = `libvmi:${instance.name}`;
    this.extent = libvmiRanges(instance.mode, process.arch, instance.maxPhysicalAddress());
  }

  ranges(): readonly PhysicalRange[] {
    return this.extent;
  }

  readInto(address: bigint, target: Uint8Array): void {
    if (target.length === 0) return;
    this.instance.readPhysical(address, target);
  }

  /** The instance is the domain's to destroy; memory alone does not own it. */
  close(): void {}
}
