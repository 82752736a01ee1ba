// x86-64 (System V / Linux kernel calling convention, 4- or 5-level paging chosen by CR4.LA57).
import { x86Translator } from '../memory/paged-address-space.js';
import { X86_64_4LEVEL, X86_64_5LEVEL } from '../memory/x86/paging.js';
import type { Architecture } from './types.js';

const CR4_LA57 = 1n << 12n;

export const X86_64: Architecture = {
  name: 'x86_64',
  label: 'x86-64',
  instructionPointer: 'rip',
  stackPointer: 'rsp',
  argumentRegisters: ['rdi', 'rsi', 'rdx', 'rcx', 'r8', 'r9'],
  returnRegister: 'rax',
  currentTask: { kind: 'per-cpu', register: 'gs_base' },
  disassembly: 'x86_64',
  controlRegisters: ['cr0', 'cr3', 'cr4'],
  translatorFor: (registers) =>
    x86Translator((registers.cr4 ?? 0n) & CR4_LA57 ? X86_64_5LEVEL : X86_64_4LEVEL),
};
