// Reads a Volatility 3 ISF JSON (from dwarf2json, or Ringside's own writer) into a kernel profile:
// a TypeTable over its types and a SymbolTable over its symbols, moved by the KASLR slide.
import { InputError } from '../../../errors.js';
import { SortedSymbolTable } from '../profile/symbol-table.js';
import type { KernelProfile, KernelSymbol, TypeId } from '../profile/types.js';
import type { IsfDocument, IsfSymbol } from './isf-format.js';
import { exactInteger, parseIsfJson } from './isf-json.js';
import { IsfTypeTable } from './isf-type-table.js';

export interface IsfReadOptions {
  /** Names the input in errors (the file path). Default "ISF". */
  source?: string;
  /**
   * KASLR slide added to symbol addresses in the kernel half (top bit set); per-CPU offsets and
   * other small values stay as they are. Default 0.
   */
  slide?: bigint;
}

export interface IsfProfile extends KernelProfile {
  types: IsfTypeTable;
  symbols: SortedSymbolTable;
  /** The ISF format version from its metadata ("6.2.0"). */
  format: string;
  /** The type of a symbol as the ISF gives it (an id in `types`), if it gives one. */
  symbolType(name: string): TypeId | undefined;
}

const KERNEL_HALF = 1n << 63n;
const REQUIRED = ['metadata', 'base_types', 'user_types', 'enums', 'symbols'] as const;

/** Parses ISF JSON text (decompress `.json.xz` first). */
export function parseIsf(text: string, options: IsfReadOptions = {}): IsfProfile {
  const source = options.source ?? 'ISF';
  return readIsf(parseIsfJson(text, source), options);
}

/**
 * Builds the profile from a parsed ISF document. Addresses above 2^53 must be exact (strings of
 * digits or bigints, as `parseIsf` leaves them): plain JSON.parse would round them.
 */
export function readIsf(document: unknown, options: IsfReadOptions = {}): IsfProfile {
  const source = options.source ?? 'ISF';
  const slide = options.slide ?? 0n;
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new InputError('is not an ISF document (a JSON object)', source);
  }
  for (const key of REQUIRED) {
    const value = (document as Record<string, unknown>)[key];
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new InputError(`is not an ISF document: "${key}" is missing or not an object`, source);
    }
  }
  const isf = document as IsfDocument;
  const format = String(isf.metadata.format ?? '');
  const major = Number(format.split('.')[0]);
  if (!(major >= 4 && major <= 6)) {
    throw new InputError(`ISF format "${format}" is not supported (4.x to 6.x)`, source, {
      code: 'UNSUPPORTED',
    });
  }
  const types = new IsfTypeTable(isf, source);
  const symbols: KernelSymbol[] = [];
  for (const [name, symbol] of Object.entries(isf.symbols)) {
    if (name === '') continue; // dwarf2json writes an empty name at address 0
    const linked = exactInteger((symbol as IsfSymbol | null)?.address);
    if (linked === undefined) {
      throw new InputError(`symbols.${name}.address is not an exact integer`, source);
    }
    const address = linked >= KERNEL_HALF ? BigInt.asUintN(64, linked + slide) : linked;
    symbols.push({ name, address, type: symbolLetter(symbol) });
  }
  const profile: IsfProfile = {
    types,
    symbols: new SortedSymbolTable(symbols),
    format,
    symbolType: (name) => {
      const descriptor = (isf.symbols[name] as IsfSymbol | null | undefined)?.type;
      return descriptor === undefined
        ? undefined
        : types.intern(descriptor, `symbols.${name}.type`, 0);
    },
  };
  const banner = bannerOf(isf.symbols['linux_banner']);
  if (banner !== undefined) profile.banner = banner;
  return profile;
}

/** ISF does not record kallsyms letters; data with a type reads as 'D', the rest as '?'. */
function symbolLetter(symbol: IsfSymbol | null): string {
  const type = symbol?.type;
  return typeof type === 'object' &&
    type !== null &&
    !(type.kind === 'base' && type.name === 'void')
    ? 'D'
    : '?';
}

function bannerOf(symbol: IsfSymbol | undefined): string | undefined {
  if (typeof symbol?.constant_data !== 'string') return undefined;
  const bytes = Buffer.from(symbol.constant_data, 'base64');
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString('latin1');
}
