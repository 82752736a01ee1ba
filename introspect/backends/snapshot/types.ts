// What a parsed snapshot file gives: where guest RAM lies in the file, and the vCPU registers it
// recorded (ELF cores from QEMU and Xen dump-cores carry them; raw and LiME dumps do not).

import type { ArchitectureName } from '../../arch/index.js';
import type { VcpuState } from '../../domain/vcpu.js';

export type { VcpuState };

/** Reads `length` bytes of the snapshot file at `offset`. */
export type RangeReader = (offset: number, length: number) => Uint8Array;

export type SnapshotFormat = 'elf' | 'lime' | 'raw' | 'xen';

export interface SnapshotLayout {
  format: SnapshotFormat;
  architecture: ArchitectureName | 'unknown';
  segments: { physical: bigint; fileOffset: number; length: number }[];
  vcpus: VcpuState[];
  /**
   * A Xen PV domain's core: its page-table entries and CR3 name machine frames while `segments` are
   * laid out by guest frame; maps a machine frame to its guest frame (undefined: not the guest's).
   */
  entryFrame?: (frame: bigint) => bigint | undefined;
}
