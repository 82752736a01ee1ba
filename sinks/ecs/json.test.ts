import { syntheticFinding } from '../test-support/findings.js';
import { toEcs } from './document.js';
import { ecsJson } from './json.js';

describe('ecsJson', () => {
  it('gives exactly the bytes JSON.stringify gives, for varied findings, shared parts and all', () => {
    const observer = { hostname: 'hv-1', version: '0.1.0' };
    for (let n = 0; n < 500; n++) {
      const finding = syntheticFinding(n);
      const document = toEcs(finding, observer, n % 2 ? 'default' : 'prod');
      expect(ecsJson(document)).toBe(JSON.stringify(document));
      // Twice: the second time the shared parts come from the cache.
      expect(ecsJson(document)).toBe(JSON.stringify(document));
    }
  });

  it('skips undefined members as JSON.stringify does', () => {
    expect(ecsJson({ a: 1, b: undefined, c: 'x' })).toBe('{"a":1,"c":"x"}');
    expect(ecsJson({})).toBe('{}');
  });

  it('does not reuse the text of an object that can still change', () => {
    const part = { n: 1 };
    const document = { part };
    expect(ecsJson(document)).toBe('{"part":{"n":1}}');
    part.n = 2;
    expect(ecsJson(document)).toBe('{"part":{"n":2}}');
  });
});
