// Lays out kallsyms tables the way scripts/kallsyms.c does, for tests: token table with learned
// multi-character tokens, compressed names, markers, optional seqs_of_names, base-relative offsets.

export type KallsymsLayout = '6.1' | '6.1-seqs' | '6.4';

export interface SyntheticSymbol {
  name: string;
  type: string;
  address: bigint;
}

const LEARNED = [
  '__x64_sys_',
  'sys_',
  'init_',
  'task',
  '_struct',
  'kernel',
  'module',
  'read',
  'write',
  'call',
  'table',
  'ta',
  'st',
  'er',
  'in',
  're',
  'on',
  'at',
  'en',
  'ed',
];

export function buildTokens(): string[] {
  const tokens: string[] = [];
  let learned = 0;
  for (let index = 0; index < 256; index++) {
    if (index >= 0x20 && index < 0x7f) tokens.push(String.fromCharCode(index));
    else
      tokens.push(
        LEARNED[learned++ % LEARNED.length]! + (learned > LEARNED.length ? String(learned) : ''),
      );
  }
  return tokens;
}

function encode(text: string, tokens: string[]): number[] {
  const out: number[] = [];
  let at = 0;
  while (at < text.length) {
    let best = -1;
    for (let index = 0; index < 256; index++) {
      const token = tokens[index]!;
      if (text.startsWith(token, at) && (best < 0 || token.length > tokens[best]!.length))
        best = index;
    }
    out.push(best);
    at += tokens[best]!.length;
  }
  return out;
}

class Writer {
  bytes: number[] = [];
  align(to: number): void {
    while (this.bytes.length % to !== 0) this.bytes.push(0);
  }
  u8(value: number): void {
    this.bytes.push(value & 0xff);
  }
  u16(value: number): void {
    this.u8(value);
    this.u8(value >> 8);
  }
  u32(value: number): void {
    for (let shift = 0; shift < 32; shift += 8) this.u8(value >>> shift);
  }
  u64(value: bigint): void {
    for (let shift = 0n; shift < 64n; shift += 8n) this.u8(Number((value >> shift) & 0xffn));
  }
}

/** Returns the image bytes; symbols must be sorted by address, relativeBase the lowest kernel address. */
export function buildKallsymsImage(
  symbols: SyntheticSymbol[],
  relativeBase: bigint,
  layout: KallsymsLayout,
  junk = 4096,
): Uint8Array {
  const tokens = buildTokens();
  const writer = new Writer();
  for (let index = 0; index < junk; index++)
    writer.u8((index * 7919) % 251 === 48 ? 1 : (index * 7919) % 251);
  const offsets = (): void => {
    writer.align(8);
    for (const symbol of symbols) {
      const raw =
        symbol.address >= relativeBase
          ? -Number(symbol.address - relativeBase) - 1
          : Number(symbol.address);
      writer.u32(raw >>> 0);
    }
    writer.align(8);
    writer.u64(relativeBase);
  };
  const names = (): number[] => {
    writer.align(8);
    writer.u32(symbols.length);
    writer.align(8);
    const start = writer.bytes.length;
    const markers: number[] = [];
    symbols.forEach((symbol, index) => {
      if (index % 256 === 0) markers.push(writer.bytes.length - start);
      const encoded = encode(symbol.type + symbol.name, tokens);
      if (encoded.length >= 0x80) {
        writer.u8((encoded.length & 0x7f) | 0x80);
        writer.u8(encoded.length >> 7);
      } else writer.u8(encoded.length);
      encoded.forEach((token) => writer.u8(token));
    });
    return markers;
  };
  const markersAndTokens = (markers: number[], seqs: boolean): void => {
    writer.align(8);
    markers.forEach((marker) => writer.u32(marker));
    if (seqs) {
      writer.align(8);
      symbols.forEach((_, index) => {
        writer.u8(index >> 16);
        writer.u8(index >> 8);
        writer.u8(index);
      });
    }
    writer.align(8);
    const tokenOffsets: number[] = [];
    const tableStart = writer.bytes.length;
    for (const token of tokens) {
      tokenOffsets.push(writer.bytes.length - tableStart);
      for (const char of Buffer.from(token, 'latin1')) writer.u8(char);
      writer.u8(0);
    }
    writer.align(8);
    tokenOffsets.forEach((offset) => writer.u16(offset));
  };
  if (layout === '6.4') {
    const markers = names();
    markersAndTokens(markers, false);
    offsets();
  } else {
    offsets();
    const markers = names();
    markersAndTokens(markers, layout === '6.1-seqs');
  }
  for (let index = 0; index < 64; index++) writer.u8(0xcc);
  return Uint8Array.from(writer.bytes);
}
