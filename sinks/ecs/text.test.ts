import fc from 'fast-check';
import type { Finding } from '../../introspect/events/finding.js';
import { realisticFindings } from '../../bench/realistic-findings.js';
import { privilegeFinding, rootkitFinding, syntheticFinding } from '../test-support/findings.js';
import { toEcs } from './document.js';
import { ecsText } from './text.js';

const observer = { hostname: 'hv-1', version: '0.1.0' };
const reference = (finding: Finding, namespace?: string): string =>
  JSON.stringify(toEcs(finding, observer, namespace));

// Anything a JavaScript plugin might put in a field, including what JSON.stringify leaves out or
// cannot write as is: undefined, functions, NaN, lone surrogates, quotes and control characters.
const loose = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.string({ unit: 'binary' }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(() => 1),
  fc.array(fc.string(), { maxLength: 3 }),
);
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 3 });
const text = fc.string({ unit: 'binary', maxLength: 40 });
const address = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });

const event = fc.record(
  {
    type: fc.constantFrom(
      'process.exec',
      'cred.change',
      'network.connect',
      'module.load',
      'kernel.write',
      'breakpoint',
      'made.up',
    ),
    domain: text,
    vcpu: maybe(fc.integer({ min: 0, max: 64 })),
    time: fc.double(),
    registers: maybe(fc.dictionary(fc.string({ maxLength: 4 }), address, { maxKeys: 3 })),
    vmi: maybe(
      fc.record(
        { rip: address, gva: address, symbol: text, access: fc.constantFrom('r', 'w', 'x') },
        { requiredKeys: [] },
      ),
    ),
    process: maybe(
      fc.record(
        {
          pid: loose,
          tgid: fc.integer(),
          ppid: fc.integer(),
          name: loose,
          executable: text,
          args: fc.array(text, { maxLength: 4 }),
          command_line: text,
          kernel_thread: fc.boolean(),
          task: address,
          parent: fc.record({ pid: loose, name: text, executable: text }, { requiredKeys: [] }),
        },
        { requiredKeys: [] },
      ),
    ),
    user: maybe(
      fc.record(
        {
          id: fc.integer(),
          group_id: fc.integer(),
          effective_id: fc.integer(),
          previous_id: loose,
        },
        { requiredKeys: [] },
      ),
    ),
    module: maybe(
      fc.record({ name: text, base: address, size: fc.integer() }, { requiredKeys: [] }),
    ),
    network: maybe(
      fc.record(
        {
          destination_ip: text,
          destination_port: loose,
          source_ip: text,
          source_port: fc.integer(),
          transport: loose,
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { requiredKeys: ['type', 'domain', 'time'] },
);

const finding = fc.record(
  {
    id: text,
    timestamp: loose,
    rule: fc.record(
      { id: text, name: text, description: loose, ruleset: text, version: text },
      { requiredKeys: ['id', 'name'] },
    ),
    severity: fc.constantFrom('informational', 'low', 'medium', 'high', 'critical', 'bogus'),
    message: loose,
    mitre: fc.array(
      fc.record(
        {
          id: fc.constantFrom('T1014', 'T1547.006', 'T1059.004', 'T1105'),
          name: text,
          tactic: fc.record({ id: text, name: text }),
        },
        { requiredKeys: ['id'] },
      ),
      { maxLength: 3 },
    ),
    tags: maybe(fc.array(text, { maxLength: 3 })),
    host: fc.record(
      { name: text, id: text, kernel: loose, architecture: text },
      { requiredKeys: ['name'] },
    ),
    events: fc.array(event, { minLength: 1, maxLength: 3 }),
    evidence: maybe(fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(loose, address))),
    actions: maybe(
      fc.array(
        fc.record({
          name: fc.constantFrom('snapshot', 'pause', 'restore'),
          ok: fc.boolean(),
          details: fc.record({ address }),
        }),
        { maxLength: 2 },
      ),
    ),
  },
  { requiredKeys: ['id', 'rule', 'severity', 'mitre', 'host', 'events'] },
) as unknown as fc.Arbitrary<Finding>;

describe('ecsText', () => {
  it('gives exactly JSON.stringify(toEcs(finding)) for any finding, odd values and all', () => {
    fc.assert(
      fc.property(finding, fc.constantFrom('default', 'prod'), (generated, namespace) => {
        expect(ecsText(generated, observer, namespace)).toBe(reference(generated, namespace));
      }),
      { numRuns: 1000 },
    );
  });

  it('gives the same text for the fixtures and the realistic findings, shared parts cached or not', () => {
    const fixtures: Finding[] = [rootkitFinding, privilegeFinding, syntheticFinding(3)];
    realisticFindings(2000).forEach((draft, n) => fixtures.push({ ...draft, id: `id-${n}` }));
    for (const fixture of fixtures) {
      expect(ecsText(fixture, observer)).toBe(reference(fixture));
      // Twice: the second time the shared parts come from the cache.
      expect(ecsText(fixture, observer)).toBe(reference(fixture));
    }
  });

  it('leaves an array with its own toJSON to JSON.stringify, which calls it', () => {
    const tags = Object.assign(['a', 'b'], { toJSON: () => 'replaced' });
    const odd = { ...rootkitFinding, tags } as unknown as Finding;
    expect(ecsText(odd, observer)).toBe(reference(odd));
    expect(ecsText(odd, observer)).toContain('"tags":"replaced"');
  });

  it('throws where JSON.stringify(toEcs()) throws (a bigint where a number belongs)', () => {
    const bad = {
      ...rootkitFinding,
      events: [{ ...rootkitFinding.events[0]!, process: { pid: 5n } }],
    } as unknown as Finding;
    expect(() => reference(bad)).toThrow(TypeError);
    expect(() => ecsText(bad, observer)).toThrow(TypeError);
  });
});
