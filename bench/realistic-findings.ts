// Varied findings for the sinks benchmark: the realistic event stream (5,000 process names, long and
// truncated command lines, connects, module loads) judged by 60 rules of a pack, some sequences of 3.
import type { VmiEvent } from '../introspect/events/event.js';
import type { AttackTechnique, Finding, Severity } from '../introspect/events/finding.js';
import { seededRandom as random } from '../introspect/test-support/seeded-random.js';
import { realisticEvents } from './realistic-stream.js';

const TECHNIQUES: AttackTechnique[][] = [
  [{ id: 'T1059.004', name: 'Unix Shell', tactic: { id: 'TA0002', name: 'Execution' } }],
  [
    {
      id: 'T1105',
      name: 'Ingress Tool Transfer',
      tactic: { id: 'TA0011', name: 'Command and Control' },
    },
  ],
  [
    {
      id: 'T1547.006',
      name: 'Kernel Modules and Extensions',
      tactic: { id: 'TA0003', name: 'Persistence' },
    },
  ],
  [
    {
      id: 'T1068',
      name: 'Exploitation for Privilege Escalation',
      tactic: { id: 'TA0004', name: 'Privilege Escalation' },
    },
    {
      id: 'T1548',
      name: 'Abuse Elevation Control Mechanism',
      tactic: { id: 'TA0004', name: 'Privilege Escalation' },
    },
  ],
];
const SEVERITIES: Severity[] = ['low', 'medium', 'high', 'critical'];

/**
 * `distinct` different findings (ids are the caller's: a counter, as computing ids is the rule engine's
 * cost): one event each mostly, one in ten a sequence of three; messages render the event's fields.
 */
export function realisticFindings(distinct: number, seed = 5): Omit<Finding, 'id'>[] {
  const pick = random(seed);
  const events = realisticEvents(distinct * 2, seed);
  const next = (): VmiEvent => events.next().value as VmiEvent;
  return Array.from({ length: distinct }, (_, index) => {
    const rule = Math.floor(pick() * 60);
    const steps = pick() < 0.1 ? [next(), next(), next()] : [next()];
    const last = steps[steps.length - 1]!;
    const process = 'process' in last ? last.process : undefined;
    return {
      timestamp: new Date(Date.UTC(2026, 0, 1) + index * 37).toISOString(),
      rule: { id: `pack.linux.rule_${rule}`, name: `Pack rule ${rule}`, ruleset: 'pack' },
      severity: SEVERITIES[rule % 4]!,
      message:
        `${process?.name ?? '?'} (pid ${process?.pid ?? 0}) ran ${process?.command_line ?? ''}`.slice(
          0,
          2048,
        ),
      mitre: TECHNIQUES[rule % TECHNIQUES.length]!,
      host: { name: last.domain },
      events: steps,
    };
  });
}
