// An architecture as one constant description (memflow's ArchitectureObj): which register holds an
// argument, the return value, the instruction pointer, how the running task is found and how code
// is disassembled. Detectors ask the descriptor; they never name registers.
import type { Translator } from '../memory/paged-address-space.js';

/** Every architecture Ringside understands, as spelled in events, dumps and `--arch`. */
export const ARCHITECTURE_NAMES = ['x86_64', 'aarch64'] as const;
export type ArchitectureName = (typeof ARCHITECTURE_NAMES)[number];

/**
 * Where the running task is found in kernel mode: x86-64 keeps a per-CPU pointer at GS base plus
 * the offset of `current_task`; AArch64 keeps the task itself in SP_EL0.
 */
export type CurrentTaskLocation =
  { kind: 'per-cpu'; register: string } | { kind: 'register'; register: string };

export interface Architecture {
  readonly name: ArchitectureName;
  /** How people write it: "x86-64", "AArch64". */
  readonly label: string;
  readonly instructionPointer: string;
  readonly stackPointer: string;
  /** The kernel's calling convention: integer arguments in order. */
  readonly argumentRegisters: readonly string[];
  readonly returnRegister: string;
  readonly currentTask: CurrentTaskLocation;
  /** Capstone mode for code of this architecture. */
  readonly disassembly: ArchitectureName;
  /** Control registers an integrity check can judge from a vCPU's state. */
  readonly controlRegisters: readonly string[];
  /** The translator for a vCPU's control-register state (undefined when the state is not enough). */
  translatorFor(registers: Readonly<Record<string, bigint>>): Translator | undefined;
}
