// Disassembly of guest code for evidence: what a hooked table entry or a patched kernel function now
// runs, one instruction per line, so an analyst sees the hook without a debugger. capstone.js (WASM)
// is loaded once, on first use or ahead by a detector that will need it (loadDisassembler); x86-64
// and AArch64 (an ARM64 guest's hooks) are decoded.

interface CapstoneInstruction {
  address: bigint;
  size: number;
  mnemonic: string;
  op_str: string;
}

interface CapstoneHandle {
  disasm(bytes: Uint8Array | number[], address: bigint, max?: number): CapstoneInstruction[];
}

interface CapstoneModule {
  ARCH_X86: number;
  ARCH_ARM64: number;
  MODE_64: number;
  MODE_ARM: number;
  Capstone: new (arch: number, mode: number) => CapstoneHandle;
}

export type CodeArchitecture = 'x86_64' | 'aarch64';

let capstone: Promise<CapstoneModule> | undefined;
const handles = new Map<CodeArchitecture, Promise<CapstoneHandle>>();

function handleFor(architecture: CodeArchitecture): Promise<CapstoneHandle> {
  let handle = handles.get(architecture);
  if (!handle) {
    // Imported on first use: the module is large, and most commands never disassemble.
    capstone ??= import('@alexaltea/capstone-js').then(
      (module) => module.default() as Promise<CapstoneModule>,
    );
    handle = capstone.then((cs) =>
      architecture === 'aarch64'
        ? new cs.Capstone(cs.ARCH_ARM64, cs.MODE_ARM)
        : new cs.Capstone(cs.ARCH_X86, cs.MODE_64),
    );
    handles.set(architecture, handle);
  }
  return handle;
}

/**
 * Loads the disassembler for an architecture now, so that the first disassembly (while a vCPU is
 * held, in a write trap) does not pay for loading capstone's WASM (~100–170 ms here).
 */
export async function loadDisassembler(architecture: CodeArchitecture): Promise<void> {
  await handleFor(architecture);
}

export interface DisassemblyOptions {
  /** At most this many instructions (default 8). */
  max?: number;
}

/**
 * Disassembles x86-64 code at `address`, as `0xADDR: mnemonic operands` lines. Bytes that do not
 * decode end the listing with a `(bad)` line rather than an error: the code may be anything.
 */
export function disassembleX86(
  bytes: Uint8Array,
  address: bigint,
  options: DisassemblyOptions = {},
): Promise<string> {
  return disassemble('x86_64', bytes, address, options);
}

/** The same for code of either architecture (an ARM64 guest's hook is AArch64 code). */
export async function disassemble(
  architecture: CodeArchitecture,
  bytes: Uint8Array,
  address: bigint,
  options: DisassemblyOptions = {},
): Promise<string> {
  const max = options.max ?? 8;
  if (bytes.length === 0) return '';
  const cs = await handleFor(architecture);
  let instructions: CapstoneInstruction[];
  try {
    instructions = cs.disasm(Array.from(bytes), address, max);
  } catch {
    instructions = [];
  }
  const lines = instructions.map(
    (insn) =>
      `0x${BigInt.asUintN(64, BigInt(insn.address)).toString(16)}: ${insn.mnemonic}${insn.op_str ? ` ${insn.op_str}` : ''}`,
  );
  const decoded = instructions.reduce((sum, insn) => sum + insn.size, 0);
  if (instructions.length < max && decoded < bytes.length) {
    lines.push(`0x${(address + BigInt(decoded)).toString(16)}: (bad)`);
  }
  return lines.join('\n');
}
