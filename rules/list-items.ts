// Falco list items written as quoted strings ('"sh"', '"10.0.0.0/8"'): Falco splices items into the
// condition, where a quoted one is a string token, so the item means the text inside the quotes.

/**
 * The value of one list item: the text itself, or, when the whole item is one quoted string of the
 * condition syntax ("…" or '…', escapes \\, \" and \'), the text inside with its escapes undone.
 */
export function listItemValue(text: string): string {
  const quote = text[0];
  if (text.length < 2 || (quote !== '"' && quote !== "'") || text[text.length - 1] !== quote)
    return text;
  let value = '';
  for (let index = 1; index < text.length - 1; index += 1) {
    const char = text[index]!;
    // `"ends with \"`: the last quote is escaped, the string never closes; keep it as written.
    if (char === '\\' && index + 1 === text.length - 1) return text;
    if (char === '\\') {
      const next = text[index + 1]!;
      if (next === '\\' || next === '"' || next === "'") {
        value += next;
        index += 1;
        continue;
      }
    }
    // A closing quote before the end: the item is not one string (`"a" "b"`), keep it as written.
    if (char === quote) return text;
    value += char;
  }
  return value;
}
