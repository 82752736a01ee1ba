// Reading an architecture's registers out of an event: the nth argument, the return value, the
// instruction pointer. A register the backend did not report is an error naming it, not a zero.
import { RingsideError } from '../errors.js';
import type { VmiEvent } from '../events/event.js';
import type { Architecture } from './types.js';

function register(arch: Architecture, event: VmiEvent, name: string, what: string): bigint {
  const value = event.registers?.[name];
  if (value === undefined) {
    throw new RingsideError(
      'GUEST_STRUCTURE',
      `${what} (${arch.label} register ${name}) was not reported by the backend for this event`,
    );
  }
  return value;
}

/** The `index`th integer argument (0-based) of the function whose entry was hooked. */
export function argument(arch: Architecture, event: VmiEvent, index: number): bigint {
  const name = arch.argumentRegisters[index];
  if (name === undefined) {
    throw new RingsideError(
      'BAD_INPUT',
      `${arch.label} passes ${arch.argumentRegisters.length} arguments in registers, not ${index + 1}`,
    );
  }
  return register(arch, event, name, `argument ${index}`);
}

export const returnValue = (arch: Architecture, event: VmiEvent): bigint =>
  register(arch, event, arch.returnRegister, 'the return value');

/** The instruction pointer of the event, when the backend reported it. */
export const instructionPointer = (arch: Architecture, event: VmiEvent): bigint | undefined =>
  event.registers?.[arch.instructionPointer];
