// The architecture descriptors by name, and the look-up that refuses a name it does not know.
import { RingsideError } from '../errors.js';
import { AARCH64 } from './aarch64.js';
import type { Architecture, ArchitectureName } from './types.js';
import { ARCHITECTURE_NAMES } from './types.js';
import { X86_64 } from './x86-64.js';

export const ARCHITECTURES: Readonly<Record<ArchitectureName, Architecture>> = {
  x86_64: X86_64,
  aarch64: AARCH64,
};

export const isArchitectureName = (name: string): name is ArchitectureName =>
  (ARCHITECTURE_NAMES as readonly string[]).includes(name);

export function architecture(name: string): Architecture {
  if (!isArchitectureName(name))
    throw new RingsideError(
      'BAD_INPUT',
      `unknown architecture ${name} (known: ${ARCHITECTURE_NAMES.join(', ')})`,
    );
  return ARCHITECTURES[name];
}

export { AARCH64, X86_64, ARCHITECTURE_NAMES };
export type { Architecture, ArchitectureName, CurrentTaskLocation } from './types.js';
export { argument, instructionPointer, returnValue } from './registers.js';
