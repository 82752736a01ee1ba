// Guest-physical memory read through LibVMI (vmi_read_pa): one C call per read, whatever its length;
// LibVMI itself goes page by page underneath.
import type { PhysicalMemory, PhysicalRange } from '../../memory/types.js';
import type { LibvmiInstance } from './libvmi-instance.js';

export class LibvmiPhysicalMemory implements PhysicalMemory {
  readonly name: string;
  private readonly extent: readonly PhysicalRange[];

  constructor(private readonly instance: LibvmiInstance) {
    this.name = `libvmi:${instance.name}`;
    this.extent = [{ start: 0n, end: instance.maxPhysicalAddress() }];
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
