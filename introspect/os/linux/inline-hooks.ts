// Inline hooks in a kernel without its image to compare with: the first instructions of every
// function kallsyms lists in the kernel text, checked for a branch out of it (jmp/call rel32,
// movabs+jmp/call through a register, push+ret, jmp through [rip+0]). ftrace's patched
// `call __fentry__` sites lead into ftrace's own trampolines: those are told apart by the trampolines
// the kernel's ftrace_ops list. x86-64 only; the text is read in chunks, an unreadable one skipped.
import { isRingsideError } from '../../errors.js';
import { hex } from '../../memory/address.js';
import {
  kernelText,
  locateCode,
  symbolName,
  type CodeLocation,
  type IntegrityViolation,
} from './integrity.js';
import type { LinuxKernel } from './linux-kernel.js';
import { listModules, type ModuleInfo } from './modules.js';
import { symbolOffsets } from './profile/symbol-table.js';

/** Text read at a time (a large page's worth): few reads, and one bad page loses little. */
const CHUNK = 1 << 21;
/** Bytes of a function's start decoded: endbr64 (4) + movabs (10) + jmp reg (3) and some. */
const PROLOGUE = 20;
/** Kernel text is a few tens of MiB: _stext.._etext (from guest memory) is read up to this much. */
const MAX_TEXT = 64 << 20;
/** ftrace_ops registered at once: far fewer in practice. */
const MAX_FTRACE_OPS = 1024;

export type BranchKind = 'jmp' | 'call' | 'movabs-jmp' | 'movabs-call' | 'push-ret' | 'jmp-rip';

export interface Branch {
  kind: BranchKind;
  /** Offset of the branch from the function's start (0, or 4 after endbr64). */
  offset: number;
  target: bigint;
}

const ENDBR64 = [0xf3, 0x0f, 0x1e, 0xfa];
const MASK64 = (1n << 64n) - 1n;

/** First bytes that can start a branch this scan knows (after an optional endbr64). */
const BRANCH_OPCODES = new Set([0xe9, 0xe8, 0x48, 0x49, 0x68, 0xff]);

/**
 * The branch a function starts with (after an optional endbr64), or undefined. Pure over bytes:
 * the function's code is `code[start..]` (up to `code.length`), and `address` is where it starts.
 */
export function leadingBranch(
  code: Uint8Array,
  address: bigint,
  start = 0,
  view = new DataView(code.buffer, code.byteOffset, code.byteLength),
): Branch | undefined {
  const endbr = ENDBR64.every((byte, index) => code[start + index] === byte);
  const at = start + (endbr ? 4 : 0);
  const op = code[at];
  if (op === undefined || !BRANCH_OPCODES.has(op)) return undefined;
  const rest = code.byteLength - at;
  const offset = at - start;
  const here = address + BigInt(offset);
  if ((op === 0xe9 || op === 0xe8) && rest >= 5) {
    const target = (here + 5n + BigInt(view.getInt32(at + 1, true))) & MASK64;
    return { kind: op === 0xe9 ? 'jmp' : 'call', offset, target };
  }
  // movabs $imm64, %reg; jmp/call *%reg (REX.W, REX.WB for r8-r15).
  if ((op === 0x48 || op === 0x49) && rest >= 12) {
    const move = code[at + 1]!;
    if (move < 0xb8 || move > 0xbf) return undefined;
    const register = (move - 0xb8) | (op === 0x49 ? 8 : 0);
    let next = at + 10;
    if (register >= 8) {
      if (code[next] !== 0x41) return undefined;
      next += 1;
    }
    if (code[next] !== 0xff || next + 1 >= code.byteLength) return undefined;
    const modrm = code[next + 1]!;
    const target = view.getBigUint64(at + 2, true);
    if (modrm === (0xe0 | (register & 7))) return { kind: 'movabs-jmp', offset, target };
    if (modrm === (0xd0 | (register & 7))) return { kind: 'movabs-call', offset, target };
    return undefined;
  }
  // push $imm32 (sign-extended); ret.
  if (op === 0x68 && rest >= 6 && code[at + 5] === 0xc3) {
    const target = BigInt.asUintN(64, BigInt(view.getInt32(at + 1, true)));
    return { kind: 'push-ret', offset, target };
  }
  // jmp *0(%rip) followed by the absolute target.
  if (op === 0xff && rest >= 14 && code[at + 1] === 0x25 && view.getInt32(at + 2, true) === 0)
    return { kind: 'jmp-rip', offset, target: view.getBigUint64(at + 6, true) };
  return undefined;
}

/** ftrace's trampolines: each registered ftrace_ops' own, [start, end). */
export function ftraceTrampolines(kernel: LinuxKernel): { start: bigint; end: bigint }[] {
  const r = kernel.reader;
  const head = kernel.symbols.address('ftrace_ops_list');
  const end = kernel.symbols.address('ftrace_list_end');
  if (head === undefined || !r.hasField('ftrace_ops', 'trampoline')) return [];
  const ranges: { start: bigint; end: bigint }[] = [];
  try {
    let ops = r.u64(head);
    const seen = new Set<bigint>();
    while (ops !== 0n && ops !== end && !seen.has(ops) && seen.size < MAX_FTRACE_OPS) {
      seen.add(ops);
      const start = r.u64(ops + r.offset('ftrace_ops', 'trampoline'));
      const size = r.fieldValue(ops, 'ftrace_ops', 'trampoline_size');
      if (start !== 0n) ranges.push({ start, end: start + (size > 0n ? size : 1n) });
      ops = r.u64(ops + r.offset('ftrace_ops', 'next'));
    }
  } catch (error) {
    if (!isRingsideError(error)) throw error;
  }
  return ranges;
}

export interface InlineHookScan {
  violations: IntegrityViolation[];
  /** Functions whose start was decoded. */
  functions: number;
  /** Bytes of text that could not be read (their functions were skipped). */
  unreadable: number;
}

/** kallsyms type letters of code in the text section. */
const TEXT_TYPES = 'tT';

/** Every function in the kernel text that starts by branching out of it. */
export function findInlineHooks(kernel: LinuxKernel): InlineHookScan {
  const result: InlineHookScan = { violations: [], functions: 0, unreadable: 0 };
  if (kernel.arch.name !== 'x86_64') return result;
  const text = kernelText(kernel);
  const span = text.end - text.start;
  if (span <= 0n) return result;
  const length = span > BigInt(MAX_TEXT) ? MAX_TEXT : Number(span);
  result.unreadable += Number(span) - length;
  const bytes = new Uint8Array(length + PROLOGUE);
  const view = new DataView(bytes.buffer);
  const readable = new Uint8Array(Math.ceil(length / CHUNK));
  for (let chunk = 0; chunk * CHUNK < length; chunk++) {
    const offset = chunk * CHUNK;
    const size = Math.min(CHUNK, length - offset);
    try {
      kernel.reader.space.readInto(
        text.start + BigInt(offset),
        bytes.subarray(offset, offset + size),
      );
      readable[chunk] = 1;
    } catch (error) {
      if (!isRingsideError(error)) throw error;
      result.unreadable += size;
    }
  }
  let moduleList: ModuleInfo[] | undefined;
  const modules = (): ModuleInfo[] => (moduleList ??= listModules(kernel).modules);
  let trampolines: { start: bigint; end: bigint }[] | undefined;
  const inText = (address: bigint): boolean => address >= text.start && address < text.end;
  // Aliases share an address (__x64_sys_getppid, __ia32_sys_getppid …): each start is read once.
  let previous = -1;
  // Offsets as numbers, not 90,000 symbol objects: only a patched function's name is looked up.
  for (const offset of symbolOffsets(kernel.symbols, text.start, TEXT_TYPES)) {
    if (offset < 0 || offset >= length || offset === previous) continue;
    previous = offset;
    const last = Math.min(Math.floor((offset + PROLOGUE - 1) / CHUNK), readable.length - 1);
    if (!readable[Math.floor(offset / CHUNK)] || !readable[last]) continue;
    result.functions += 1;
    const start = text.start + BigInt(offset);
    const branch = leadingBranch(bytes, start, offset, view);
    if (!branch || inText(branch.target)) continue;
    // A call where __fentry__'s call sits, into a trampoline of a registered ftrace_ops: ftrace.
    trampolines ??= ftraceTrampolines(kernel);
    if (
      branch.kind === 'call' &&
      trampolines.some((range) => branch.target >= range.start && branch.target < range.end)
    )
      continue;
    const location = locateCode(kernel, branch.target, modules);
    const site = start + BigInt(branch.offset);
    // Named as everywhere else (the write trap's findings too): the nearest symbol kallsyms gives.
    const name = symbolName(kernel, site) ?? hex(site);
    result.violations.push({
      target: 'inline_hook',
      message: `${name} is patched: a ${branch.kind} out of the kernel text, to ${describe(location, branch.target)}`,
      address: site,
      symbol: name,
      new_value: branch.target,
      location,
    });
  }
  return result;
}

function describe(location: CodeLocation, target: bigint): string {
  if (location.where === 'module')
    return `${location.symbol ?? hex(target)} in module ${location.module}`;
  return `${hex(target)}, in no module`;
}
