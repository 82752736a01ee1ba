// What a parsed snapshot file gives: where guest RAM lies in the file, and the vCPU registers it
// recorded (ELF cores from QEMU and Xen dump-cores carry them; raw and LiME dumps do not).

export type SnapshotFormat = 'elf' | 'lime' | 'raw' | 'xen';

export interface VcpuState {
  index: number;
  /** General registers and, where recorded, control registers (cr0, cr3, cr4 …), by lowercase name. */
  registers: Record<string, bigint>;
}

export interface SnapshotLayout {
  format: SnapshotFormat;
  architecture: 'x86_64' | 'aarch64' | 'unknown';
  segments: { physical: bigint; fileOffset: number; length: number }[];
  vcpus: VcpuState[];
}
