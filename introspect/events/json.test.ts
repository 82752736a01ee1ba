import { bigintAsHex, canonicalJson, hex, hexBytes, jsonSafe, ndjsonLine, toJson } from './json.js';

const event = {
  type: 'kernel.write',
  time: 1.5,
  gone: undefined,
  vmi: { gva: 0xffffffff822001d8n, size: 8 },
  registers: { rip: 0n, cr3: 0x1234000n },
};

describe('hex', () => {
  it('writes a bigint as 0x and lower-case digits, unpadded', () => {
    expect(hex(0n)).toBe('0x0');
    expect(hex(0xffffffffc0a01000n)).toBe('0xffffffffc0a01000');
  });
  it('writes bytes two digits each', () => {
    expect(hexBytes(Uint8Array.of(0x0f, 0xc3, 0x00))).toBe('0fc300');
    expect(hexBytes(new Uint8Array())).toBe('');
  });
});

describe('toJson and ndjsonLine', () => {
  it('write bigints as 0x-hex strings and leave undefined members out', () => {
    expect(toJson(event)).toBe(
      '{"type":"kernel.write","time":1.5,"vmi":{"gva":"0xffffffff822001d8","size":8},"registers":{"rip":"0x0","cr3":"0x1234000"}}',
    );
    expect(ndjsonLine(event)).toBe(`${toJson(event)}\n`);
  });
  it('indent as JSON.stringify does, and give its bytes for values without bigints', () => {
    const plain = { a: [1, 'x', null], b: { c: true } };
    expect(toJson(plain, 2)).toBe(JSON.stringify(plain, null, 2));
    expect(toJson(plain)).toBe(JSON.stringify(plain));
    expect(JSON.stringify([5n], bigintAsHex)).toBe('["0x5"]');
  });
});

describe('jsonSafe', () => {
  it('is the deep copy JSON.parse(toJson(…)) would give', () => {
    expect(jsonSafe(event)).toEqual(JSON.parse(toJson(event)));
    expect(jsonSafe([1n, { a: undefined }])).toEqual(['0x1', {}]);
  });
});

describe('canonicalJson', () => {
  it('sorts keys and writes bigint as hex', () => {
    expect(canonicalJson({ b: 1n, a: [2, { d: 'x', c: null }] })).toBe(
      '{"a":[2,{"c":null,"d":"x"}],"b":"0x1"}',
    );
  });
  it('leaves out undefined members', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });
  it('gives the bytes of the entry-sorting definition (ids stay what they were)', () => {
    const reference = (value: unknown): string => {
      if (value === null || value === undefined) return 'null';
      if (typeof value === 'bigint') return JSON.stringify(hex(value));
      if (typeof value !== 'object') return JSON.stringify(value);
      if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(',')}}`;
    };
    const sample = {
      type: 'process.exec',
      time: 1.5,
      Z: [undefined, null, true, -0, 1e21, 'tab\t "quoted" \u2028'],
      é: { b: 2n ** 70n, a: { y: undefined, x: [[], {}] } },
      process: { pid: 7, command_line: 'a'.repeat(2000), parent: { name: 'ß' } },
      '10': 'ten',
      '9': 'nine',
    };
    expect(canonicalJson(sample)).toBe(reference(sample));
    expect(canonicalJson([sample, sample])).toBe(reference([sample, sample]));
  });
});
