// A finding as an OCSF Detection Finding (class_uid 2004, category Findings, OCSF 1.3): the rule as the
// analytic, MITRE ATT&CK as attacks, the guest as the device, process and user as evidence.
import type { EventType, VmiEvent } from '../../introspect/events/event.js';
import type { Finding, Severity } from '../../introspect/events/finding.js';
import type { Observer } from '../ecs/document.js';
import { jsonSafe } from '../../introspect/events/json.js';

export const OCSF_VERSION = '1.3.0';
export const DETECTION_FINDING_CLASS = 2004;
export const FINDINGS_CATEGORY = 2;
/** activity_id 1: Create (a new finding). */
export const ACTIVITY_CREATE = 1;

/** OCSF severity_id: 1 Informational … 5 Critical. */
export const OCSF_SEVERITY: Readonly<Record<Severity, { id: number; name: string }>> = {
  informational: { id: 1, name: 'Informational' },
  low: { id: 2, name: 'Low' },
  medium: { id: 3, name: 'Medium' },
  high: { id: 4, name: 'High' },
  critical: { id: 5, name: 'Critical' },
};

export type OcsfEvent = Record<string, unknown>;

/** The OCSF evidence an event of each type gives: its process and user, its network endpoints. */
type Evidence = 'process' | 'endpoints';

const EVIDENCE: Readonly<Record<EventType, readonly Evidence[]>> = {
  breakpoint: [],
  mem_access: [],
  register_write: [],
  singlestep: [],
  interrupt: [],
  view_switch: [],
  lifecycle: [],
  'guest.reboot': [],
  'process.exec': ['process'],
  'process.exit': ['process'],
  'process.hidden': ['process'],
  'process.anomaly': ['process'],
  'cred.change': ['process'],
  'module.load': ['process'],
  'module.unload': ['process'],
  'kernel.write': ['process'],
  'integrity.violation': ['process'],
  'network.connect': ['process', 'endpoints'],
};

/** The newest event whose type gives this evidence and that has the group it comes from. */
function newest<K extends 'process' | 'user' | 'network'>(
  events: readonly VmiEvent[],
  evidence: Evidence,
  group: K,
): VmiEvent[K] | undefined {
  for (let index = events.length - 1; index >= 0; index -= 1) {
    const event = events[index]!;
    // A type from an untyped (JavaScript) plugin is not in the table: it gives no evidence.
    if (event[group] !== undefined && (EVIDENCE[event.type] ?? []).includes(evidence))
      return event[group];
  }
  return undefined;
}

const endpoint = (ip: string | undefined, port: number | undefined) =>
  ip !== undefined ? { ip, port } : undefined;

export function toOcsf(finding: Finding, observer: Observer): OcsfEvent {
  const severity = OCSF_SEVERITY[finding.severity];
  const time = Date.parse(finding.timestamp);
  const process = newest(finding.events, 'process', 'process');
  const user = newest(finding.events, 'process', 'user');
  const network = newest(finding.events, 'endpoints', 'network');
  const attacks = finding.mitre.map((technique) => {
    const dot = technique.id.indexOf('.');
    const named = (uid: string, name?: string) => (name !== undefined ? { uid, name } : { uid });
    return {
      version: 'v15',
      ...(dot < 0
        ? { technique: named(technique.id, technique.name) }
        : {
            technique: { uid: technique.id.slice(0, dot) },
            sub_technique: named(technique.id, technique.name),
          }),
      ...(technique.tactic
        ? { tactic: { uid: technique.tactic.id, name: technique.tactic.name } }
        : {}),
    };
  });
  const evidence: Record<string, unknown> = {};
  if (process)
    evidence.process = {
      pid: process.pid ?? process.tgid,
      name: process.name,
      cmd_line: process.command_line ?? process.args?.join(' '),
      file: process.executable
        ? {
            path: process.executable,
            name: process.executable.split('/').pop(),
            type_id: 1,
            type: 'Regular File',
          }
        : undefined,
      parent_process:
        process.parent || process.ppid !== undefined
          ? { pid: process.parent?.pid ?? process.ppid, name: process.parent?.name }
          : undefined,
      user: user?.effective_id !== undefined ? { uid: user.effective_id.toString() } : undefined,
    };
  if (user?.id !== undefined) evidence.actor = { user: { uid: user.id.toString() } };
  if (network?.destination_ip !== undefined || network?.source_ip !== undefined) {
    evidence.dst_endpoint = endpoint(network.destination_ip, network.destination_port);
    evidence.src_endpoint = endpoint(network.source_ip, network.source_port);
  }
  return jsonSafe({
    activity_id: ACTIVITY_CREATE,
    activity_name: 'Create',
    category_uid: FINDINGS_CATEGORY,
    category_name: 'Findings',
    class_uid: DETECTION_FINDING_CLASS,
    class_name: 'Detection Finding',
    type_uid: DETECTION_FINDING_CLASS * 100 + ACTIVITY_CREATE,
    type_name: 'Detection Finding: Create',
    time,
    severity_id: severity.id,
    severity: severity.name,
    status_id: 1,
    status: 'New',
    message: finding.message,
    metadata: {
      version: OCSF_VERSION,
      uid: finding.id,
      product: { name: 'Ringside', vendor_name: 'Ringside', version: observer.version },
      ...(finding.tags && finding.tags.length > 0 ? { labels: finding.tags } : {}),
    },
    finding_info: {
      uid: finding.id,
      title: finding.rule.name,
      desc: finding.rule.description,
      types: [...new Set(finding.events.map((event) => event.type))],
      analytic: {
        uid: finding.rule.id,
        name: finding.rule.name,
        type_id: 1,
        type: 'Rule',
        version: finding.rule.version,
        category: finding.rule.ruleset,
      },
      attacks: attacks.length > 0 ? attacks : undefined,
    },
    device: {
      hostname: finding.host.name,
      name: finding.host.name,
      uid: finding.host.id,
      type_id: 6,
      type: 'Virtual',
      os: {
        name: 'Linux',
        type_id: 200,
        type: 'Linux',
        ...(finding.host.kernel ? { version: finding.host.kernel } : {}),
      },
    },
    evidences: Object.keys(evidence).length > 0 ? [evidence] : undefined,
    observables:
      process?.pid !== undefined
        ? [{ name: 'process.pid', type_id: 15, type: 'Process ID', value: String(process.pid) }]
        : undefined,
    unmapped: {
      ringside: {
        observer: observer.hostname,
        domain: finding.events[0]?.domain,
        vcpu: finding.events[0]?.vcpu,
        severity: finding.severity,
        events: finding.events,
        evidence: finding.evidence,
      },
    },
  }) as OcsfEvent;
}
