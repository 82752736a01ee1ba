// Evidence an analyst reads in a kernel-integrity finding: the code a new pointer leads to (or the
// patched code itself) disassembled, and where it lives. Reads can fail: the target may be anywhere.
import { disassemble } from '../../introspect/disasm/x86.js';
import { isRingsideError } from '../../introspect/errors.js';
import type { VmiEvent } from '../../introspect/events/event.js';
import type { IntegrityViolation } from '../../introspect/os/linux/integrity.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';

const CODE_BYTES = 48;
const INSTRUCTIONS = 8;

/** Disassembly of the code at `address`, or a line saying why there is none. */
export async function codeAt(kernel: LinuxKernel, address: bigint): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = kernel.reader.bytes(address, CODE_BYTES);
  } catch (error) {
    if (!isRingsideError(error)) throw error;
    return `(code at 0x${address.toString(16)} is unreadable: ${error.message})`;
  }
  return disassemble(kernel.arch.disassembly, bytes, address, { max: INSTRUCTIONS });
}

/**
 * The target of a direct jump or call that starts a disassembly (x86-64 `jmp`/`call`, AArch64
 * `b`/`bl`), or undefined: the first thing patched code does, when it is a branch, says where an
 * inline hook leads.
 */
export function branchTarget(disassembly: string): bigint | undefined {
  const first = disassembly.split('\n', 1)[0] ?? '';
  const match = /^0x[0-9a-f]+: (?:jmp|call|b|bl) #?(0x[0-9a-f]+)$/.exec(first);
  return match ? BigInt(match[1]!) : undefined;
}

/** An integrity.violation event for a violation found by a check (periodic or on a snapshot). */
export async function violationEvent(
  kernel: LinuxKernel,
  violation: IntegrityViolation,
  base: Pick<VmiEvent, 'domain' | 'time' | 'timestamp'>,
): Promise<VmiEvent> {
  const pointer =
    violation.target === 'syscall_table' ||
    violation.target === 'idt' ||
    violation.target === 'lstar';
  // A pointer: the code it leads to; an inline hook: the patched code itself.
  const disassembly = pointer
    ? await codeAt(kernel, violation.new_value)
    : violation.target === 'inline_hook' && violation.address !== undefined
      ? await codeAt(kernel, violation.address)
      : undefined;
  return {
    type: 'integrity.violation',
    ...base,
    ...(violation.vcpu !== undefined ? { vcpu: violation.vcpu } : {}),
    vmi: {
      symbol: violation.symbol,
      ...(violation.address !== undefined ? { gva: violation.address } : {}),
      ...(violation.target.startsWith('cr') ? { register: violation.symbol } : {}),
      ...(violation.old_value !== undefined ? { old_value: violation.old_value } : {}),
      new_value: violation.new_value,
      hook: violation.target,
      ...(disassembly !== undefined ? { disassembly } : {}),
    },
    details: {
      check: violation.target,
      message: violation.message,
      ...(violation.location ? { target_location: violation.location } : {}),
    },
  };
}
