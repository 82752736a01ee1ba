// Findings for sink tests, built in code: a small realistic set, and a generator of many distinct ones.
import { findingId } from '../../introspect/events/finding.js';
import type { Finding } from '../../introspect/events/finding.js';

type Draft = Omit<Finding, 'id'>;

const withId = (draft: Draft): Finding => ({ ...draft, id: findingId(draft) });

export const rootkitFinding: Finding = withId({
  timestamp: '2026-03-01T10:00:00.000Z',
  rule: {
    id: 'ringside.syscall_table_hook',
    name: 'Syscall table entry overwritten',
    description: 'A sys_call_table slot points outside the kernel text',
    ruleset: 'ringside-core',
    version: '1',
  },
  severity: 'critical',
  message: 'sys_call_table[59] -> 0xffffffffc0a01000 (module "evil") on guest web-1',
  mitre: [
    {
      id: 'T1014',
      name: 'Rootkit',
      tactic: { id: 'TA0005', name: 'Defense Evasion' },
    },
  ],
  tags: ['rootkit', 'kernel'],
  host: { name: 'web-1', id: 'uuid-web-1', kernel: '6.1.0-18-amd64', architecture: 'x86_64' },
  events: [
    {
      type: 'kernel.write',
      domain: 'web-1',
      vcpu: 1,
      time: 1234.5,
      timestamp: '2026-03-01T10:00:00.000Z',
      registers: { rip: 0xffffffffc0a01000n, cr3: 0x1234000n },
      vmi: {
        gpa: 0x2a00c8n,
        gva: 0xffffffff822001d8n,
        access: 'w',
        size: 8,
        old_value: 0xffffffff81234560n,
        new_value: 0xffffffffc0a01000n,
        symbol: 'sys_call_table+0x1d8',
      },
      process: {
        pid: 4242,
        name: 'insmod',
        executable: '/usr/sbin/insmod',
        args: ['insmod', 'evil.ko'],
        ppid: 1000,
      },
      user: { id: 0, group_id: 0, effective_id: 0 },
      module: { name: 'evil', base: 0xffffffffc0a00000n, size: 16384 },
    },
  ],
  evidence: { slot: 59, disassembly: 'push rbp\nmov rbp, rsp', bytes: 'c0a01000' },
});

export const privilegeFinding: Finding = withId({
  timestamp: '2026-03-01T10:00:01.000Z',
  rule: { id: 'ringside.cred_escalation', name: 'Credentials changed to root outside setuid' },
  severity: 'high',
  message: 'pid 777 (sh) uid 1000 -> 0 | "quoted" = back\\slash ]',
  mitre: [
    {
      id: 'T1068',
      name: 'Exploitation for Privilege Escalation',
      tactic: { id: 'TA0004', name: 'Privilege Escalation' },
    },
    {
      id: 'T1547.006',
      name: 'Kernel Modules and Extensions',
      tactic: { id: 'TA0003', name: 'Persistence' },
    },
  ],
  host: { name: 'db-2' },
  events: [
    {
      type: 'cred.change',
      domain: 'db-2',
      vcpu: 0,
      time: 99,
      process: {
        pid: 777,
        tgid: 777,
        name: 'sh',
        task: 0xffff888003a3c000n,
        parent: { pid: 700, name: 'bash' },
      },
      user: { id: 1000, previous_id: 1000, effective_id: 0 },
    },
    {
      type: 'network.connect',
      domain: 'db-2',
      time: 100,
      network: {
        destination_ip: '10.0.0.9',
        destination_port: 4444,
        source_ip: '10.0.0.2',
        source_port: 51000,
        transport: 'tcp',
      },
    },
  ],
});

/** The n-th of many distinct findings (distinct ids), cheap to build, for load and fault tests. */
export function syntheticFinding(n: number, host = 'guest-1'): Finding {
  return withId({
    timestamp: new Date(Date.UTC(2026, 0, 1) + n).toISOString(),
    rule: { id: `ringside.synthetic.${n % 7}`, name: 'Synthetic finding' },
    severity: (['low', 'medium', 'high', 'critical'] as const)[n % 4]!,
    message: `synthetic finding ${n}`,
    mitre: [{ id: 'T1014', name: 'Rootkit', tactic: { id: 'TA0005', name: 'Defense Evasion' } }],
    host: { name: host },
    events: [
      {
        type: 'process.exec',
        domain: host,
        vcpu: n % 4,
        time: n,
        process: { pid: 1000 + (n % 30000), name: 'sh', executable: '/bin/sh' },
        vmi: { rip: 0xffffffff81000000n + BigInt(n) },
      },
    ],
  });
}
