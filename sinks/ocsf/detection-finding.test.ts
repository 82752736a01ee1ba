import { privilegeFinding, rootkitFinding, syntheticFinding } from '../test-support/findings.js';
import { validateDetectionFinding } from '../test-support/ocsf-schema.js';
import { toOcsf } from './detection-finding.js';

const observer = { hostname: 'hv-1', version: '0.1.0' };

describe('toOcsf', () => {
  it.each([
    ['rootkit', rootkitFinding],
    ['privilege', privilegeFinding],
    ['synthetic', syntheticFinding(2)],
  ])('maps the %s finding to a valid Detection Finding', (_name, finding) => {
    const event = JSON.parse(JSON.stringify(toOcsf(finding, observer))) as Record<string, unknown>;
    expect(validateDetectionFinding(event)).toEqual([]);
  });

  it('carries class, severity, analytic, attacks, device and evidence', () => {
    const event = toOcsf(rootkitFinding, observer);
    expect(event).toMatchObject({
      class_uid: 2004,
      type_uid: 200401,
      severity_id: 5,
      severity: 'Critical',
      time: Date.parse('2026-03-01T10:00:00.000Z'),
      finding_info: {
        uid: rootkitFinding.id,
        title: 'Syscall table entry overwritten',
        analytic: { uid: 'ringside.syscall_table_hook', type: 'Rule' },
        attacks: [
          {
            technique: { uid: 'T1014', name: 'Rootkit' },
            tactic: { uid: 'TA0005', name: 'Defense Evasion' },
          },
        ],
      },
      device: { hostname: 'web-1', type: 'Virtual', os: { version: '6.1.0-18-amd64' } },
      evidences: [{ process: { pid: 4242, name: 'insmod', file: { path: '/usr/sbin/insmod' } } }],
    });
    expect(JSON.stringify(event)).toContain('"rip":"0xffffffffc0a01000"');
  });

  it('puts a sub-technique under its parent', () => {
    const attacks = (toOcsf(privilegeFinding, observer).finding_info as { attacks: unknown[] })
      .attacks;
    expect(attacks[1]).toEqual({
      version: 'v15',
      technique: { uid: 'T1547' },
      sub_technique: { uid: 'T1547.006', name: 'Kernel Modules and Extensions' },
      tactic: { uid: 'TA0003', name: 'Persistence' },
    });
  });

  it('is caught by the checker when a required attribute is wrong', () => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- edits deep paths of the event
    const event = JSON.parse(JSON.stringify(toOcsf(rootkitFinding, observer))) as any;
    event.type_uid = 200402;
    delete event.finding_info.uid;
    event.finding_info.attacks[0].technique.uid = 'Rootkit';
    expect(validateDetectionFinding(event)).toEqual([
      'type_uid = class_uid*100+activity_id',
      'finding_info.uid',
      'finding_info.attacks[0].technique.uid',
    ]);
  });

  it('gives the endpoints of a connection as evidence', () => {
    const [evidence] = toOcsf(privilegeFinding, observer).evidences as Record<string, unknown>[];
    expect(evidence).toMatchObject({
      process: { pid: 777, name: 'sh' },
      dst_endpoint: { ip: '10.0.0.9', port: 4444 },
      src_endpoint: { ip: '10.0.0.2', port: 51000 },
    });
  });

  it('gives no evidence for a raw hook hit', () => {
    const raw = {
      ...rootkitFinding,
      events: [{ type: 'breakpoint' as const, domain: 'web-1', time: 1, vmi: { rip: 1n } }],
    };
    expect(toOcsf(raw, observer).evidences).toBeUndefined();
  });
});
