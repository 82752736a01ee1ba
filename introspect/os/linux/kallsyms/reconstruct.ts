// Rebuilds the kernel's symbol table from its own kallsyms tables (kernel/kallsyms.c,
// scripts/kallsyms.c) found in a copy of the kernel image: no System.map or debug package needed.
// Pure: bytes in, symbols out. Every count and offset read from the image is checked, because the
// image is guest memory an attacker may have altered.
import { GuestStructureError } from '../../../errors.js';

/** Where the tables were found, as offsets into the image. */
export interface KallsymsLocation {
  tokenTable: number;
  tokenIndex: number;
  markers: number;
  names: number;
  numSyms: number;
  offsets: number;
  relativeBase: bigint;
  /** CONFIG_KALLSYMS_ABSOLUTE_PERCPU: non-negative offsets are absolute values. */
  absolutePercpu: boolean;
}

/** The decoded table, kept compact: one string of names and typed arrays, no object per symbol. */
export interface KallsymsResult {
  /** Every name, each preceded and followed by "\n", in table order. */
  names: string;
  /** Offset of each symbol's name in `names`. */
  starts: Uint32Array;
  /** kallsyms type letter of each symbol (character code). */
  types: Uint8Array;
  /** kallsyms_offsets as in the image; `addressOf` turns one into an address. */
  offsets: Int32Array;
  location: KallsymsLocation;
}

/** The address of symbol `index` (kernel/kallsyms.c kallsyms_sym_address). */
export function addressOf(table: KallsymsResult, index: number): bigint {
  const raw = table.offsets[index]!;
  const { relativeBase, absolutePercpu } = table.location;
  if (!absolutePercpu) return relativeBase + BigInt(raw >>> 0);
  if (raw >= 0) return BigInt(raw);
  return relativeBase - 1n - BigInt(raw);
}

/** A number that orders symbols as their addresses do, without making a bigint. */
export function sortKeyOf(table: KallsymsResult, index: number): number {
  const raw = table.offsets[index]!;
  if (!table.location.absolutePercpu) return raw >>> 0;
  return raw >= 0 ? raw : 2 ** 33 + (-1 - raw);
}

const DIGITS = Buffer.from('0\x001\x002\x003\x004\x005\x006\x007\x008\x009\x00', 'latin1');
const MAX_SYMBOLS = 1 << 21;
const MAX_TOKEN_LENGTH = 256;

export function reconstructKallsyms(image: Uint8Array): KallsymsResult {
  const bytes = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  let from = 0;
  const reasons: string[] = [];
  for (let hits = 0; hits < 64; hits++) {
    const hit = bytes.indexOf(DIGITS, from);
    if (hit < 0) break;
    from = hit + 1;
    const tokens = tokenTableAround(bytes, hit);
    if (!tokens) continue;
    const tokenIndex = findTokenIndex(view, tokens.end, tokens.offsets);
    if (tokenIndex < 0) continue;
    try {
      return decodeFrom(bytes, view, tokens.start, tokenIndex, tokens.strings);
    } catch (error) {
      reasons.push(error instanceof Error ? error.message : String(error));
    }
  }
  throw new GuestStructureError(
    `no kallsyms tables found in the kernel image${reasons.length ? `: ${reasons.join('; ')}` : ''}`,
  );
}

/** Given the offset of token '0' (index 48), finds the token table's start, its 256 tokens and end. */
function tokenTableAround(
  bytes: Buffer,
  zeroToken: number,
): { start: number; end: number; offsets: number[]; strings: Buffer[] } | undefined {
  let start = zeroToken;
  for (let index = 0; index < 48; index++) {
    if (start < 2) return undefined;
    const previousEnd = start - 1; // the NUL ending the previous token
    const previousStart = bytes.lastIndexOf(0, previousEnd - 1) + 1;
    if (previousEnd - previousStart < 1 || previousEnd - previousStart > MAX_TOKEN_LENGTH)
      return undefined;
    start = previousStart;
  }
  const offsets: number[] = [];
  const strings: Buffer[] = [];
  let position = start;
  for (let index = 0; index < 256; index++) {
    const end = bytes.indexOf(0, position);
    if (end < 0 || end - position > MAX_TOKEN_LENGTH || (end === position && index !== 0))
      return undefined;
    offsets.push(position - start);
    strings.push(bytes.subarray(position, end));
    position = end + 1;
  }
  return { start, end: position, offsets, strings };
}

/** kallsyms_token_index: 256 u16 offsets into the token table, right after it (aligned). */
function findTokenIndex(view: DataView, tokenTableEnd: number, offsets: number[]): number {
  for (let candidate = tokenTableEnd; candidate < tokenTableEnd + 16; candidate += 1) {
    if (candidate % 2 !== 0 || candidate + 512 > view.byteLength) continue;
    let matches = true;
    for (let index = 0; index < 256 && matches; index++) {
      matches = view.getUint16(candidate + index * 2, true) === offsets[index];
    }
    if (matches) return candidate;
  }
  return -1;
}

function decodeFrom(
  bytes: Buffer,
  view: DataView,
  tokenTable: number,
  tokenIndex: number,
  tokens: Buffer[],
): KallsymsResult {
  let markers: { start: number; values: number[] } | undefined;
  let names: { start: number; count: number } | undefined;
  for (const candidate of markerCandidates(view, tokenTable)) {
    names = findNames(bytes, view, candidate);
    if (names) {
      markers = candidate;
      break;
    }
  }
  if (!markers || !names)
    throw new GuestStructureError(
      'kallsyms_markers/kallsyms_names not found before the token table',
    );
  const count = names.count;
  const offsetsInfo = findOffsets(view, names.start, count, tokenIndex);
  // Expand every name into one latin1 buffer ("\nname\nname…\n"), byte by byte: no string and no
  // call per token, which keeps ~100k symbols in a few milliseconds.
  const tokenStart = new Int32Array(256);
  const tokenLength = new Int32Array(256);
  tokens.forEach((token, index) => {
    tokenStart[index] = token.byteOffset - bytes.byteOffset;
    tokenLength[index] = token.length;
  });
  let output = new Uint8Array(4 << 20);
  let length = 0;
  output[length++] = 0x0a;
  const starts = new Uint32Array(count);
  const types = new Uint8Array(count);
  let position = names.start;
  for (let index = 0; index < count; index++) {
    const record = readRecordLength(bytes, position);
    const end = position + record.header + record.length;
    if (length + record.length * MAX_TOKEN_LENGTH + 2 > output.length) {
      const grown = new Uint8Array(
        Math.max(output.length * 2, length + record.length * MAX_TOKEN_LENGTH + 2),
      );
      grown.set(output.subarray(0, length));
      output = grown;
    }
    starts[index] = length;
    let skipType = true;
    for (let at = position + record.header; at < end; at++) {
      const token = bytes[at]!;
      let from = tokenStart[token]!;
      const to = from + tokenLength[token]!;
      if (skipType && from < to) {
        // The first character of a name is its kallsyms type letter.
        types[index] = bytes[from]!;
        from++;
        skipType = false;
      }
      while (from < to) output[length++] = bytes[from++]!;
    }
    output[length++] = 0x0a;
    position = end;
  }
  const offsets = new Int32Array(count);
  for (let index = 0; index < count; index++) {
    offsets[index] = view.getInt32(offsetsInfo.offsets + index * 4, true);
  }
  return {
    names: Buffer.from(output.buffer, 0, length).toString('latin1'),
    starts,
    types,
    offsets,
    location: {
      tokenTable,
      tokenIndex,
      markers: markers.start,
      names: names.start,
      numSyms: names.start - 8,
      offsets: offsetsInfo.offsets,
      relativeBase: offsetsInfo.relativeBase,
      absolutePercpu: offsetsInfo.absolutePercpu,
    },
  };
}

/**
 * kallsyms_markers: u32 offsets into kallsyms_names of every 256th symbol. It ends just before the
 * token table, or (6.2+ and stable backports) before kallsyms_seqs_of_names, 3 bytes a symbol,
 * which then ends just before the token table. Yields every plausible placement, nearest first.
 */
function* markerCandidates(
  view: DataView,
  tokenTable: number,
): Generator<{ start: number; values: number[] }> {
  const limit = Math.max(0, tokenTable - (MAX_SYMBOLS / 256) * 4 - MAX_SYMBOLS * 3 - 16);
  for (let start = (tokenTable - 8) & ~7; start >= limit; start -= 8) {
    if (view.getUint32(start, true) !== 0 || view.getUint32(start + 4, true) === 0) continue;
    const run: number[] = [];
    let previous = -1;
    for (
      let position = start;
      position + 4 <= tokenTable && run.length <= MAX_SYMBOLS / 256;
      position += 4
    ) {
      const value = view.getUint32(position, true);
      if (value <= previous) break;
      run.push(value);
      previous = value;
    }
    // The run may swallow a few bytes of what follows; try the lengths it allows.
    for (let count = run.length; count >= Math.max(1, run.length - 3); count--) {
      const end = start + count * 4;
      const gap = tokenTable - ((end + 7) & ~7);
      if (gap >= 0 && gap < 8) {
        yield { start, values: run.slice(0, count) };
        continue;
      }
      const symbols = Math.floor(gap / 3);
      for (let n = symbols; n >= symbols - 2 && n > 0; n--) {
        if (n > (count - 1) * 256 && n <= count * 256) yield { start, values: run.slice(0, count) };
      }
    }
  }
}

function readRecordLength(bytes: Buffer, position: number): { header: number; length: number } {
  const first = bytes[position];
  if (first === undefined)
    throw new GuestStructureError(`kallsyms_names runs past the image at ${position}`);
  if ((first & 0x80) === 0) return { header: 1, length: first };
  const second = bytes[position + 1];
  if (second === undefined)
    throw new GuestStructureError(`kallsyms_names runs past the image at ${position}`);
  return { header: 2, length: (first & 0x7f) | (second << 7) };
}

/**
 * kallsyms_names ends where the markers begin; it starts right after kallsyms_num_syms. Search the
 * window the last marker allows for a start whose count and records agree with every marker.
 */
function findNames(
  bytes: Buffer,
  view: DataView,
  markers: { start: number; values: number[] },
): { start: number; count: number } | undefined {
  const markerCount = markers.values.length;
  const last = markers.values[markerCount - 1]!;
  const highest = markers.start - last;
  const lowest = Math.max(8, highest - 256 * 130);
  for (let start = highest & ~7; start >= lowest; start -= 8) {
    const count = view.getUint32(start - 8, true);
    if (count <= (markerCount - 1) * 256 || count > markerCount * 256) continue;
    if (recordsAgree(bytes, start, count, markers)) return { start, count };
  }
  return undefined;
}

function recordsAgree(
  bytes: Buffer,
  start: number,
  count: number,
  markers: { start: number; values: number[] },
): boolean {
  let position = start;
  for (let index = 0; index < count; index++) {
    if (index % 256 === 0 && position - start !== markers.values[index / 256]) return false;
    if (position >= markers.start) return false;
    const record = readRecordLength(bytes, position);
    if (record.length === 0) return false;
    position += record.header + record.length;
  }
  return position <= markers.start && markers.start - position < 8;
}

/**
 * kallsyms_offsets (s32 each) and kallsyms_relative_base (u64): before kallsyms_num_syms up to 6.3,
 * after the token index from 6.4 on. The relative base is the kernel's _text, a kernel address.
 */
function findOffsets(
  view: DataView,
  namesStart: number,
  count: number,
  tokenIndex: number,
): { offsets: number; relativeBase: bigint; absolutePercpu: boolean } {
  const candidates: { offsets: number; base: number }[] = [];
  const baseBefore = namesStart - 16;
  candidates.push({ base: baseBefore, offsets: (baseBefore - count * 4) & ~7 });
  const afterIndex = (tokenIndex + 512 + 7) & ~7;
  candidates.push({ offsets: afterIndex, base: (afterIndex + count * 4 + 7) & ~7 });
  for (const candidate of candidates) {
    if (candidate.offsets < 0 || candidate.base + 8 > view.byteLength) continue;
    const relativeBase = view.getBigUint64(candidate.base, true);
    if (relativeBase < 0xffff_8000_0000_0000n || (relativeBase & 0xfffn) !== 0n) continue;
    let negatives = 0;
    for (let index = 0; index < count; index++) {
      if (view.getInt32(candidate.offsets + index * 4, true) < 0) negatives++;
    }
    return { offsets: candidate.offsets, relativeBase, absolutePercpu: negatives > 0 };
  }
  throw new GuestStructureError(
    'kallsyms_offsets/kallsyms_relative_base not found next to kallsyms_names',
  );
}
