// The template tag escapes every value that is not already markup, so guest strings stay text.
import { anchorId, escapeHtml, markup, trusted } from './html.js';

describe('markup', () => {
  it('escapes interpolated strings and keeps the literal markup', () => {
    const comm = '<img src=x onerror=alert(1)>';
    expect(markup`<b title="${comm}">${comm}</b>`.text).toBe(
      '<b title="&lt;img src=x onerror=alert(1)&gt;">&lt;img src=x onerror=alert(1)&gt;</b>',
    );
  });

  it('escapes quotes, ampersands and backticks, and shows control characters', () => {
    expect(escapeHtml(`"a'b&c\`d`)).toBe('&quot;a&#39;b&amp;c&#96;d');
    expect(escapeHtml('a\u001b[31mb\u0000')).toBe('a\\x1b[31mb\\x00');
  });

  it('joins arrays, renders bigints as hex and drops empty values', () => {
    expect(
      markup`${['<a>', markup`<i>${'&'}</i>`]}|${0x10n}|${undefined}${null}${false}|${0}`.text,
    ).toBe('&lt;a&gt;<i>&amp;</i>|0x10||0');
  });

  it('passes trusted markup through and makes ids from anything', () => {
    expect(markup`${trusted('<hr>')}`.text).toBe('<hr>');
    expect(anchorId('proc', '1" onclick="x')).toBe('proc-1__onclick__x');
  });
});
