import fc from 'fast-check';
import { privilegeFinding, rootkitFinding } from '../test-support/findings.js';
import { escapeCefHeader, escapeCefValue, formatCef } from './cef.js';
import { formatFindingSyslog } from './message.js';
import { escapeParamValue, formatRfc5424, headerField } from './rfc5424.js';

const observer = { hostname: 'hv-1', version: '0.1.0' };

/** Undo RFC 5424 PARAM-VALUE escaping, as a receiver does. */
const unescapeParam = (value: string) => value.replace(/\\([\\"\]])/g, '$1');
/** Split a CEF extension into pairs and unescape values, as a CEF parser does. */
function parseCefExtension(extension: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  const pattern = /([A-Za-z0-9]+)=((?:\\.|[^\\=])*?)(?= [A-Za-z0-9]+=|$)/g;
  for (const match of extension.matchAll(pattern))
    pairs[match[1]!] = match[2]!.replace(/\\(.)/g, (_all, c: string) =>
      c === 'n' ? '\n' : c === 'r' ? '\r' : c,
    );
  return pairs;
}

describe('RFC 5424', () => {
  it('formats header, PRI and structured data', () => {
    expect(
      formatRfc5424({
        facility: 16,
        severity: 2,
        timestamp: '2026-03-01T10:00:00.000Z',
        hostname: 'hv 1',
        appName: 'ringside',
        procId: '42',
        msgId: 'finding',
        structuredData: [
          {
            id: 'ringside@32473',
            params: [
              ['rule', 'a"b]c\\d'],
              ['empty', undefined],
            ],
          },
        ],
        message: 'line one\nline two',
      }),
    ).toBe(
      '<130>1 2026-03-01T10:00:00.000Z hv_1 ringside 42 finding [ringside@32473 rule="a\\"b\\]c\\\\d"] line one line two',
    );
  });

  it('uses NILVALUE and truncates header fields to their limits', () => {
    expect(headerField(undefined, 48)).toBe('-');
    expect(headerField('', 48)).toBe('-');
    expect(headerField('x'.repeat(100), 48)).toHaveLength(48);
  });

  it('escapes any PARAM-VALUE so that a receiver gets it back', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const escaped = escapeParamValue(value);
        expect(escaped).not.toMatch(/(^|[^\\])(\\\\)*["\]]/);
        expect(unescapeParam(escaped)).toBe(value);
      }),
    );
  });

  it('puts the finding in the ringside@ structured data element', () => {
    const line = formatFindingSyslog(privilegeFinding, { format: 'structured', observer });
    expect(line).toMatch(
      /^<131>1 2026-03-01T10:00:01.000Z hv-1 ringside \d+ finding \[ringside@32473 /,
    );
    expect(line).toContain(`id="${privilegeFinding.id}"`);
    expect(line).toContain('technique="T1068,T1547.006"');
    expect(line.endsWith('] pid 777 (sh) uid 1000 -> 0 | "quoted" = back\\slash ]')).toBe(true);
  });
});

describe('CEF', () => {
  it('escapes pipes and backslashes in the header, = and backslashes and newlines in values', () => {
    expect(escapeCefHeader('a|b\\c\nd')).toBe('a\\|b\\\\c d');
    expect(escapeCefValue('a=b\\c\nd\re|f')).toBe('a\\=b\\\\c\\nd\\re|f');
  });

  it('round-trips any extension value through a CEF parser', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (first, second) => {
        const pairs = parseCefExtension(
          `msg=${escapeCefValue(first)} cs1=${escapeCefValue(second)}`,
        );
        expect(pairs).toEqual({ msg: first, cs1: second });
      }),
    );
  });

  it('formats a finding with its signature, severity and extension', () => {
    const cef = formatCef(rootkitFinding, observer);
    const [, vendor, product, version, signature, name, severity] = cef.split('|');
    expect([vendor, product, version, signature, name, severity]).toEqual([
      'Ringside',
      'Ringside',
      '0.1.0',
      'ringside.syscall_table_hook',
      'Syscall table entry overwritten',
      '10',
    ]);
    const extension = parseCefExtension(cef.split('|').slice(7).join('|'));
    expect(extension).toMatchObject({
      rt: String(Date.parse('2026-03-01T10:00:00.000Z')),
      externalId: rootkitFinding.id,
      msg: rootkitFinding.message,
      dhost: 'web-1',
      dproc: 'insmod',
      dpid: '4242',
      cs1Label: 'mitreTechniques',
      cs1: 'T1014',
    });
  });

  it('keeps a hostile message inside its value', () => {
    const extension = parseCefExtension(
      formatCef(privilegeFinding, observer).split('|').slice(7).join('|'),
    );
    expect(extension.msg).toBe(privilegeFinding.message);
    expect(extension.dhost).toBe('db-2');
  });
});
