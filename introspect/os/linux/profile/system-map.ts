// Reads a System.map (or /proc/kallsyms text) into a SymbolTable, moved by the KASLR slide:
// "ffffffff81000000 T _text" per line, optionally followed by "[module]" as kallsyms prints it.
import { InputError } from '../../../errors.js';
import { SortedSymbolTable } from './symbol-table.js';
import type { KernelSymbol } from './types.js';

export interface SystemMapOptions {
  /** Names the input in errors, e.g. the file path. Default "System.map". */
  source?: string;
  /**
   * KASLR slide added to link-time addresses in the kernel half of the address space (top bit
   * set). Per-CPU symbols and other small absolute values are offsets, not addresses, and are
   * left as they are. Default 0.
   */
  slide?: bigint;
}

const LINE = /^([0-9a-fA-F]{1,16})\s+([A-Za-z?])\s+(\S+)(?:\s+\[(\S+)\])?$/;
const KERNEL_HALF = 1n << 63n;

export function parseSystemMap(text: string, options: SystemMapOptions = {}): SortedSymbolTable {
  const source = options.source ?? 'System.map';
  const slide = options.slide ?? 0n;
  const symbols: KernelSymbol[] = [];
  let lineNumber = 0;
  let start = 0;
  while (start < text.length) {
    lineNumber++;
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end).trim();
    start = end + 1;
    if (line === '') continue;
    const match = LINE.exec(line);
    if (match === null) {
      const shown = line.length > 80 ? `${line.slice(0, 80)}…` : line;
      throw new InputError(
        `line ${lineNumber} is not "<hex address> <type letter> <name>": ${JSON.stringify(shown)}`,
        source,
        { offset: lineNumber },
      );
    }
    const linked = BigInt(`0x${match[1]!}`);
    const address = linked >= KERNEL_HALF ? BigInt.asUintN(64, linked + slide) : linked;
    symbols.push({ name: match[3]!, address, type: match[2]! });
  }
  if (symbols.length === 0) throw new InputError('holds no symbols', source);
  return new SortedSymbolTable(symbols);
}
