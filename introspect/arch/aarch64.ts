// AArch64 (AAPCS64: arguments in x0–x7; the kernel keeps the running task in SP_EL0; stage-1
// translation decoded from TCR_EL1 with both TTBRs).
import { arm64Translator } from '../memory/paged-address-space.js';
import { decodeStage1 } from '../memory/arm64/stage1.js';
import type { Architecture } from './types.js';

export const AARCH64: Architecture = {
  name: 'aarch64',
  label: 'AArch64',
  instructionPointer: 'pc',
  stackPointer: 'sp',
  argumentRegisters: ['x0', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7'],
  returnRegister: 'x0',
  currentTask: { kind: 'register', register: 'sp_el0' },
  disassembly: 'aarch64',
  controlRegisters: ['vbar_el1', 'ttbr0_el1', 'ttbr1_el1', 'tcr_el1'],
  translatorFor: (registers) => {
    const { tcr_el1: tcr, ttbr0_el1: ttbr0, ttbr1_el1: ttbr1 } = registers;
    if (tcr === undefined || ttbr1 === undefined) return undefined;
    return arm64Translator(decodeStage1({ tcr, ttbr0: ttbr0 ?? 0n, ttbr1 }));
  },
};
