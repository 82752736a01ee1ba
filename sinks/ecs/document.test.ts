import { EcsVersion } from '@elastic/ecs';
import { privilegeFinding, rootkitFinding, syntheticFinding } from '../test-support/findings.js';
import { validateEcs } from '../test-support/ecs-schema.js';
import { ECS_VERSION, toEcs } from './document.js';

// The tests read deep paths of a free-form document.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;

const observer = { hostname: 'hv-1', version: '0.1.0' };

describe('toEcs', () => {
  it('carries the response actions and their outcomes under ringside.actions', () => {
    const finding = {
      ...rootkitFinding,
      actions: [{ name: 'restore' as const, ok: true, details: { address: 0xffffffff81000000n } }],
    };
    const ringside = (document: unknown) => (document as Loose).ringside as Loose;
    expect(ringside(toEcs(finding, observer)).actions).toEqual([
      { name: 'restore', ok: true, details: { address: '0xffffffff81000000' } },
    ]);
    expect(ringside(toEcs(rootkitFinding, observer)).actions).toBeUndefined();
    expect(validateEcs(JSON.parse(JSON.stringify(toEcs(finding, observer))))).toEqual([]);
  });

  it('follows the ECS version of the definitions it is validated against', () => {
    expect(ECS_VERSION).toBe(EcsVersion);
  });

  it.each([
    ['rootkit', rootkitFinding],
    ['privilege escalation', privilegeFinding],
    ['synthetic', syntheticFinding(3)],
  ])('maps the %s finding to a document valid against ecs_flat', (_name, finding) => {
    expect(validateEcs(JSON.parse(JSON.stringify(toEcs(finding, observer))))).toEqual([]);
  });

  it('fills the alert, rule, threat, host, observer, process and user fields', () => {
    const document = toEcs(rootkitFinding, observer, 'prod') as Loose;
    expect(document['@timestamp']).toBe('2026-03-01T10:00:00.000Z');
    expect(document.event).toMatchObject({
      id: rootkitFinding.id,
      kind: 'alert',
      severity: 99,
      category: ['intrusion_detection', 'host'],
      type: ['info', 'change'],
    });
    expect(document.rule).toMatchObject({
      id: 'ringside.syscall_table_hook',
      ruleset: 'ringside-core',
    });
    expect(document.threat).toEqual({
      framework: 'MITRE ATT&CK',
      technique: {
        id: ['T1014'],
        name: ['Rootkit'],
        reference: ['https://attack.mitre.org/techniques/T1014/'],
      },
      tactic: {
        id: ['TA0005'],
        name: ['Defense Evasion'],
        reference: ['https://attack.mitre.org/tactics/TA0005/'],
      },
    });
    expect(document.host).toMatchObject({ name: 'web-1', os: { kernel: '6.1.0-18-amd64' } });
    expect(document.observer).toMatchObject({ hostname: 'hv-1', product: 'Ringside' });
    expect(document.process).toMatchObject({
      pid: 4242,
      name: 'insmod',
      args_count: 2,
      parent: { pid: 1000 },
    });
    expect(document.user).toEqual({ id: '0', group: { id: '0' }, effective: { id: '0' } });
    expect(document.data_stream).toEqual({
      type: 'logs',
      dataset: 'ringside.findings',
      namespace: 'prod',
    });
    expect(document.ringside.vmi.new_value).toBe('0xffffffffc0a01000');
    expect(document.ringside.registers).toEqual({ rip: '0xffffffffc0a01000', cr3: '0x1234000' });
    expect(document.ringside.evidence.slot).toBe(59);
  });

  it('splits sub-techniques from their parent technique', () => {
    const document = toEcs(privilegeFinding, observer) as Loose;
    expect(document.threat.technique.id).toEqual(['T1068', 'T1547']);
    expect(document.threat.technique.name).toBeUndefined();
    expect(document.threat.technique.subtechnique).toEqual({
      id: ['T1547.006'],
      name: ['Kernel Modules and Extensions'],
      reference: ['https://attack.mitre.org/techniques/T1547/006/'],
    });
    expect(document.destination).toEqual({ ip: '10.0.0.9', port: 4444 });
    expect(document.ringside.user.previous_id).toBe(1000);
  });

  it('is caught by the validator when a field breaks the schema', () => {
    const document = JSON.parse(JSON.stringify(toEcs(rootkitFinding, observer))) as Loose;
    document.event.kind = 'finding';
    document.event.severity = 'high';
    document.process.args = 'insmod evil.ko';
    document.host.colour = 'blue';
    document.event.type = ['info', 'installation'];
    expect(validateEcs(document)).toEqual(
      expect.arrayContaining([
        'event.kind: finding is not an allowed value',
        'event.severity: not an integer (high)',
        'process.args: ECS expects an array',
        'host.colour: not an ECS field',
        'event.type: installation is not expected for categories intrusion_detection,host',
      ]),
    );
  });

  it('sends no empty object and no null', () => {
    const minimal = {
      ...syntheticFinding(1),
      events: [{ type: 'process.exec' as const, domain: 'g', time: 1, user: {} }],
    };
    const json = JSON.stringify(toEcs(minimal, observer));
    expect(json).not.toMatch(/:\{\}|null/);
    expect(validateEcs(JSON.parse(json))).toEqual([]);
  });

  it('is pure: the same finding gives the same document', () => {
    expect(JSON.stringify(toEcs(rootkitFinding, observer))).toBe(
      JSON.stringify(toEcs(rootkitFinding, observer)),
    );
  });
});
