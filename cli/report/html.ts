// A tiny typed HTML template: `markup\`<b>${value}</b>\`` escapes every interpolated value unless it
// is itself Html, so a guest string (a process name, a module name) can never become markup.

/** Markup that is already safe: produced by `markup` or `trusted`, never from a plain string. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type HtmlChild =
  Html | string | number | bigint | boolean | null | undefined | readonly HtmlChild[];

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/**
 * Text for an element's content or a double-quoted attribute. Control characters (which a guest
 * string may hold) are shown as \xNN instead of being passed on.
 */
export function escapeHtml(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this must catch
  return text.replace(/[&<>"'`]|[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (char) => {
    const entity = ENTITIES[char];
    return entity ?? `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

function render(child: HtmlChild): string {
  if (child instanceof Html) return child.text;
  if (child === null || child === undefined || child === false) return '';
  if (Array.isArray(child)) return child.map(render).join('');
  if (typeof child === 'bigint') return `0x${child.toString(16)}`;
  return escapeHtml(String(child as string | number | boolean));
}

/** The template tag: literal parts are kept, values escaped (arrays joined, bigints as 0x hex). */
export function markup(strings: TemplateStringsArray, ...values: HtmlChild[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    out += render(value) + (strings[index + 1] ?? '');
  });
  return new Html(out);
}

/** Markup the report itself wrote (its stylesheet, its script): never a value from a guest. */
export const trusted = (text: string): Html => new Html(text);

/** An id safe in an attribute and in a `#fragment`: letters, digits, `-` and `_` only. */
export const anchorId = (prefix: string, key: string | number): string =>
  `${prefix}-${String(key).replace(/[^A-Za-z0-9_-]/g, '_')}`;
