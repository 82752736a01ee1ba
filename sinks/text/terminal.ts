// Guest-derived text made safe for a terminal: control characters, and the Unicode ones that reorder
// or break lines, become visible escapes (\x1b, \u{202e}) as ps and ls show them; `\` becomes `\\`.

// C0 controls, DEL, C1 controls, line/paragraph separators, bidi embeddings, overrides and isolates,
// and the backslash that starts an escape (so a guest cannot forge one).
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\\]/g;
// eslint-disable-next-line no-control-regex
const ANY_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\\]/;

const escapeOne = (character: string): string => {
  if (character === '\\') return '\\\\';
  const code = character.charCodeAt(0);
  return code < 0x80
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u{${code.toString(16).padStart(4, '0')}}`;
};

/** One line of text for a terminal: nothing in it can move the cursor, recolour or add a line. */
export function escapeForTerminal(text: string): string {
  return ANY_UNSAFE.test(text) ? text.replace(UNSAFE, escapeOne) : text;
}

/** Several lines: each is escaped, the line breaks between them are kept. */
export const escapeLinesForTerminal = (text: string): string =>
  text.split('\n').map(escapeForTerminal).join('\n');
