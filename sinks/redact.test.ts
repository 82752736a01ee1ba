import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSecret } from './credentials.js';
import { Redactor } from './redact.js';

describe('Redactor', () => {
  it('hides a secret, its base64 form and Basic credentials', () => {
    const redactor = new Redactor();
    redactor.add('api-key-123');
    redactor.addBasic('elastic', 'pa55word');
    const basic = Buffer.from('elastic:pa55word').toString('base64');
    const text = redactor.redact(
      `key api-key-123 b64 ${Buffer.from('api-key-123').toString('base64')} basic ${basic} pw pa55word`,
    );
    expect(text).toBe('key [REDACTED] b64 [REDACTED] basic [REDACTED] pw [REDACTED]');
  });

  it('hides whatever follows an authorization header', () => {
    expect(new Redactor().redact('{"authorization":"ApiKey abcdef"}')).toBe(
      '{"authorization":"ApiKey [REDACTED]"}',
    );
    expect(new Redactor().redact('Authorization: Splunk 1234-5678')).toBe(
      'Authorization: Splunk [REDACTED]',
    );
  });
});

describe('readSecret', () => {
  it('reads from an environment variable or a file, trimmed, and names what is missing', () => {
    const directory = mkdtempSync(join(tmpdir(), 'ringside-secret-'));
    writeFileSync(join(directory, 'token'), 'tok-en\n');
    expect(readSecret({ env: 'T' }, { T: ' value ' })).toBe('value');
    expect(readSecret({ file: join(directory, 'token') })).toBe('tok-en');
    expect(() => readSecret({ env: 'MISSING' }, {})).toThrow(
      '$MISSING: environment variable is not set or empty',
    );
    expect(() => readSecret({ file: join(directory, 'none') })).toThrow(
      /cannot read the secret file/,
    );
    writeFileSync(join(directory, 'empty'), '\n');
    expect(() => readSecret({ file: join(directory, 'empty') })).toThrow(/empty/);
    rmSync(directory, { recursive: true, force: true });
  });
});
