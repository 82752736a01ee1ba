import fc from 'fast-check';
import { escapeForTerminal } from './terminal.js';

describe('escapeForTerminal', () => {
  it('shows escape sequences, NUL, newlines and DEL as visible \\xNN', () => {
    expect(escapeForTerminal('\x1b[2J\x1b[31mPWNED')).toBe('\\x1b[2J\\x1b[31mPWNED');
    expect(escapeForTerminal('a\nb\r\x00\x7f')).toBe('a\\x0ab\\x0d\\x00\\x7f');
  });

  it('escapes C1 controls and the bidi and line-separator characters', () => {
    expect(escapeForTerminal('\u009b31m')).toBe('\\u{009b}31m');
    expect(escapeForTerminal('evil\u202etxt.exe\u2028x')).toBe('evil\\u{202e}txt.exe\\u{2028}x');
  });

  it('doubles a backslash, so a guest cannot forge an escape', () => {
    expect(escapeForTerminal('\\x1b')).toBe('\\\\x1b');
  });

  it('keeps printable text, Unicode and the replacement character as they are', () => {
    expect(escapeForTerminal('systemd-journal')).toBe('systemd-journal');
    expect(escapeForTerminal('kworker/0:1H ü 中 \ufffd')).toBe('kworker/0:1H ü 中 \ufffd');
  });

  it('never lets a control character through, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const escaped = escapeForTerminal(text);
        expect(escaped).not.toMatch(
          // eslint-disable-next-line no-control-regex
          /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/,
        );
      }),
    );
  });
});
