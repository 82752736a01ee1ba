// A vCPU's state as a backend or a snapshot recorded it: general and control registers by lowercase
// name. The OS layer reads it (CR3, TTBR1, GS base) without knowing which backend it came from.
export interface VcpuState {
  index: number;
  /** General registers and, where recorded, control registers (cr0, cr3, cr4 …), by lowercase name. */
  registers: Record<string, bigint>;
}
