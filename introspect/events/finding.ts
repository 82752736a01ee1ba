// A finding: what a rule or detector concluded, with the guest, the evidence and the ATT&CK technique.
// Its id is derived from its content, so a re-delivered finding is recognised as the same one.
import { createHash } from 'node:crypto';
import type { VmiEvent } from './event.js';
import { canonicalJson } from './json.js';

export type Severity = 'informational' | 'low' | 'medium' | 'high' | 'critical';

export const SEVERITIES: readonly Severity[] = [
  'informational',
  'low',
  'medium',
  'high',
  'critical',
];

export interface AttackTechnique {
  /** e.g. T1014, T1547.006 */
  id: string;
  name?: string;
  /** ATT&CK tactic, e.g. { id: 'TA0005', name: 'Defense Evasion' } */
  tactic?: { id: string; name: string };
}

export interface Finding {
  /** Stable id: a hash of the finding's content (see findingId). */
  id: string;
  /** Wall-clock time of the event that triggered it, ISO 8601. */
  timestamp: string;
  rule: { id: string; name: string; description?: string; ruleset?: string; version?: string };
  severity: Severity;
  /** The rendered output line of the rule. */
  message: string;
  mitre: AttackTechnique[];
  tags?: string[];
  /** The guest. */
  host: { name: string; id?: string; kernel?: string; architecture?: string };
  /** The event(s) that triggered it: one, or the steps of a sequence / threshold. */
  events: VmiEvent[];
  /** Evidence beyond the events: addresses, bytes, disassembly, old and new values. */
  evidence?: Record<string, unknown>;
  /** Response actions the rule asked for, each with its outcome (not part of the id). */
  actions?: ActionRecord[];
}

/**
 * What a rule may ask to be done when it fires (never by default): a forensic memory dump, pausing
 * the guest, or putting back what a trapped write changed before the writer's vCPU goes on.
 */
export type ResponseActionName = 'snapshot' | 'pause' | 'restore';

export const RESPONSE_ACTIONS: readonly ResponseActionName[] = ['snapshot', 'pause', 'restore'];

export const isResponseAction = (name: string): name is ResponseActionName =>
  (RESPONSE_ACTIONS as readonly string[]).includes(name);

/** One response action as done (or not): audited in the finding and in the action log. */
export interface ActionRecord {
  name: ResponseActionName;
  ok: boolean;
  /** Why it failed or could not run. */
  error?: string;
  /** What it did: a dump's path and sha256, the bytes put back and where. */
  details?: Record<string, unknown>;
}

/** The stable id of a finding: SHA-256 over rule, guest and triggering events (not over `id`). */
export function findingId(finding: Omit<Finding, 'id'>): string {
  const content = canonicalJson({
    rule: finding.rule.id,
    host: finding.host.name,
    events: finding.events,
  });
  return createHash('sha256').update(content).digest('hex').slice(0, 32);
}
