import { InputError } from '../../../errors.js';
import { exactInteger, parseIsfJson, stringifyIsfJson } from './isf-json.js';

describe('ISF JSON with exact 64-bit integers', () => {
  it('keeps kernel addresses exact, which JSON.parse alone would round', () => {
    const text =
      '{"a": {"address": 18446744071606217281}, "b": [18446744073709551615, 1], "c": -9223372036854775808}';
    expect(Number(JSON.parse(text).a.address).toString()).not.toBe('18446744071606217281');
    const parsed = parseIsfJson(text, 'test') as {
      a: { address: unknown };
      b: unknown[];
      c: unknown;
    };
    expect(exactInteger(parsed.a.address)).toBe(18446744071606217281n);
    expect(exactInteger(parsed.b[0])).toBe(0xffffffffffffffffn);
    expect(exactInteger(parsed.b[1])).toBe(1n);
    expect(exactInteger(parsed.c)).toBe(-(1n << 63n));
  });

  it('leaves digits inside strings alone', () => {
    const parsed = parseIsfJson(
      '{"name": "unnamed_1234567890123456", "x": "1234567890123456789"}',
      't',
    );
    expect(parsed).toEqual({ name: 'unnamed_1234567890123456', x: '1234567890123456789' });
  });

  it('writes bigints as plain JSON integers, digit for digit', () => {
    const text = stringifyIsfJson({
      address: 0xffffffff82e0f940n,
      small: 5n,
      list: [-(1n << 63n)],
    });
    expect(text).toBe('{"address":18446744071610366272,"small":5,"list":[-9223372036854775808]}');
    expect(exactInteger((parseIsfJson(text, 't') as { address: unknown }).address)).toBe(
      0xffffffff82e0f940n,
    );
  });

  it('reads only integers as integers', () => {
    expect(exactInteger(1.5)).toBeUndefined();
    expect(exactInteger('12a')).toBeUndefined();
    expect(exactInteger(2 ** 60)).toBeUndefined(); // a rounded double is not exact
    expect(exactInteger(undefined)).toBeUndefined();
  });

  it('names the input when the JSON is malformed', () => {
    expect(() => parseIsfJson('{"a": ', 'kernel.json')).toThrow(InputError);
    expect(() => parseIsfJson('{"a": ', 'kernel.json')).toThrow(/^kernel\.json: is not valid JSON/);
  });
});
