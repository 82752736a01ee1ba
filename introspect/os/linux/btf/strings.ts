// The BTF string section: NUL-terminated names addressed by their offset. Decoding is lazy and
// cached, with a fast path for the ASCII that C identifiers are made of.
import { InputError } from '../../../errors.js';
import { BTF_MAX_NAME_LENGTH } from './format.js';

const utf8 = new TextDecoder('utf-8', { fatal: false });

export class BtfStrings {
  private readonly cache = new Map<number, string>();

  constructor(
    private readonly bytes: Uint8Array,
    private readonly start: number,
    private readonly end: number,
    private readonly source: string,
  ) {}

  /** The string at `offset` into the string section; '' for offset 0. */
  get(offset: number): string {
    if (offset === 0) return '';
    const cached = this.cache.get(offset);
    if (cached !== undefined) return cached;
    const decoded = this.decode(offset);
    this.cache.set(offset, decoded);
    return decoded;
  }

  private decode(offset: number): string {
    const first = this.start + offset;
    if (offset < 0 || first >= this.end) {
      throw new InputError(
        `BTF name offset ${offset} is past the string section (${this.end - this.start} bytes)`,
        this.source,
        { offset: first },
      );
    }
    const bytes = this.bytes;
    const limit = Math.min(this.end, first + BTF_MAX_NAME_LENGTH + 1);
    let position = first;
    let ascii = true;
    while (position < limit && bytes[position] !== 0) {
      if (bytes[position]! >= 0x80) ascii = false;
      position++;
    }
    if (position === limit && position < this.end) {
      throw new InputError(
        `BTF name at string offset ${offset} is longer than ${BTF_MAX_NAME_LENGTH} bytes`,
        this.source,
        { offset: first },
      );
    }
    if (position >= this.end) {
      throw new InputError(
        `BTF name at string offset ${offset} has no terminating NUL`,
        this.source,
        {
          code: 'TRUNCATED',
          offset: first,
        },
      );
    }
    if (!ascii || position - first > 64) return utf8.decode(bytes.subarray(first, position));
    let text = '';
    for (let index = first; index < position; index++) text += String.fromCharCode(bytes[index]!);
    return text;
  }
}
