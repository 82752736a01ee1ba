// Source text with positions: a condition string taken out of YAML still knows, character by
// character, the file, line and column it came from, even when it was quoted, folded or appended.
import type { Location } from './types.js';

export interface SourceText {
  readonly text: string;
  /** Location of the character at `offset` in `text` (offset = text.length gives the end). */
  locate(offset: number): Location;
}

/** Text whose first character is at `start` and which has no line breaks it does not show. */
export function plainSource(
  text: string,
  file: string,
  start: Location = { file, line: 1, col: 1 },
): SourceText {
  return {
    text,
    locate(offset) {
      let line = start.line;
      let col = start.col;
      for (let index = 0; index < offset && index < text.length; index += 1) {
        if (text[index] === '\n') {
          line += 1;
          col = 1;
        } else col += 1;
      }
      return { file, line, col };
    },
  };
}

/** Turns an offset in a whole file into a location. */
export type OffsetLocator = (fileOffset: number) => Location;

/**
 * A YAML scalar's value, mapped back onto the file. The value and its raw source differ by quotes,
 * escapes, indentation and folding, so each value character is aligned with the next equal source
 * character a short way ahead; where none is found the position stays on the last aligned one.
 */
export function scalarSource(
  value: string,
  fileText: string,
  range: readonly [number, number],
  locator: OffsetLocator,
): SourceText {
  const offsets = new Array<number>(value.length + 1);
  let cursor = range[0];
  // Skip a block scalar's header (| or >, with indicators) to the first content line.
  if (fileText[cursor] === '|' || fileText[cursor] === '>') {
    const newline = fileText.indexOf('\n', cursor);
    if (newline >= 0) cursor = newline + 1;
  }
  let last = cursor;
  for (let index = 0; index < value.length; index += 1) {
    let found = -1;
    for (let probe = cursor; probe < Math.min(range[1], cursor + 16); probe += 1) {
      if (fileText[probe] === value[index] || (value[index] === ' ' && fileText[probe] === '\n')) {
        found = probe;
        break;
      }
    }
    if (found >= 0) {
      offsets[index] = found;
      last = found;
      cursor = found + 1;
    } else offsets[index] = last;
  }
  offsets[value.length] = value.length === 0 ? cursor : last + 1;
  return {
    text: value,
    locate: (offset) => locator(offsets[Math.max(0, Math.min(offset, value.length))]!),
  };
}

/** Two sources joined by a separator (an appended condition), each keeping its own positions. */
export function joinSources(first: SourceText, separator: string, second: SourceText): SourceText {
  const split = first.text.length + separator.length;
  return {
    text: first.text + separator + second.text,
    locate: (offset) =>
      offset < first.text.length
        ? first.locate(offset)
        : offset < split
          ? first.locate(first.text.length)
          : second.locate(offset - split),
  };
}
