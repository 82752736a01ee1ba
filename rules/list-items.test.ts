import { listItemValue } from './list-items.js';

describe('listItemValue', () => {
  it('unquotes an item that is one quoted string, as Falco reads it in a condition', () => {
    expect(listItemValue('"sh"')).toBe('sh');
    expect(listItemValue("'75-system-updat'")).toBe('75-system-updat');
    expect(listItemValue('"10.0.0.0/8"')).toBe('10.0.0.0/8');
    expect(listItemValue('"say \\"hi\\" \\\\ there"')).toBe('say "hi" \\ there');
    expect(listItemValue('""')).toBe('');
  });

  it('keeps every other item as written', () => {
    expect(listItemValue('sh')).toBe('sh');
    expect(listItemValue('"')).toBe('"');
    expect(listItemValue('"sh')).toBe('"sh');
    expect(listItemValue('"a" "b"')).toBe('"a" "b"');
    expect(listItemValue('"a\'')).toBe('"a\'');
    expect(listItemValue('"ends with \\"')).toBe('"ends with \\"');
  });
});
