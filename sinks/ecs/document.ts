// A finding as an Elastic Common Schema document: event.kind alert, rule, threat (MITRE ATT&CK), the
// guest as host, Ringside's own machine as observer, process/user where known, the rest under ringside.*.
import type { AttackTechnique, Finding, Severity } from '../../introspect/events/finding.js';
import type { EventType, VmiEvent } from '../../introspect/events/event.js';
import { hex, jsonSafe } from '../../introspect/events/json.js';

/** The ECS version the documents follow (the tests check it against the @elastic/ecs definitions). */
export const ECS_VERSION = '9.4.0';

/** Ringside itself, as the observer of the guest. */
export interface Observer {
  hostname: string;
  version: string;
}

/** event.severity and event.risk_score: the numbers Elastic Security uses for its severities. */
export const SEVERITY_SCORE: Readonly<Record<Severity, number>> = {
  informational: 1,
  low: 21,
  medium: 47,
  high: 73,
  critical: 99,
};

export type EcsDocument = Record<string, unknown>;

/**
 * event.category and event.type per event type, chosen among the pairs ECS allows; null: nothing
 * beyond intrusion_detection/info (a raw hook hit says nothing ECS can categorise by itself).
 */
const CATEGORISATION: Readonly<Record<EventType, { category: string; type: string } | null>> = {
  breakpoint: null,
  mem_access: null,
  register_write: null,
  singlestep: null,
  interrupt: null,
  view_switch: null,
  lifecycle: null,
  'guest.reboot': { category: 'host', type: 'change' },
  'process.exec': { category: 'process', type: 'start' },
  'process.exit': { category: 'process', type: 'end' },
  'process.hidden': { category: 'process', type: 'info' },
  'process.anomaly': { category: 'process', type: 'info' },
  'cred.change': { category: 'process', type: 'change' },
  'module.load': { category: 'driver', type: 'start' },
  'module.unload': { category: 'driver', type: 'end' },
  'kernel.write': { category: 'host', type: 'change' },
  'integrity.violation': { category: 'host', type: 'change' },
  'network.connect': { category: 'network', type: 'connection' },
};

const attackUrl = (id: string): string =>
  `https://attack.mitre.org/techniques/${id.replace('.', '/')}/`;
const tacticUrl = (id: string): string => `https://attack.mitre.org/tactics/${id}/`;

/** Rules hand the same technique list to each of their findings: map it once (frozen, shared). */
const threatCache = new WeakMap<readonly AttackTechnique[], EcsDocument | undefined>();

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}

export function threat(mitre: readonly AttackTechnique[]): EcsDocument | undefined {
  if (threatCache.has(mitre)) return threatCache.get(mitre);
  const mapped = deepFreeze(mapThreat(mitre));
  threatCache.set(mitre, mapped);
  return mapped;
}

function mapThreat(mitre: readonly AttackTechnique[]): EcsDocument | undefined {
  if (mitre.length === 0) return undefined;
  const techniques = new Map<string, string | undefined>();
  const subtechniques = new Map<string, string | undefined>();
  const tactics = new Map<string, string>();
  for (const technique of mitre) {
    const dot = technique.id.indexOf('.');
    if (dot < 0) techniques.set(technique.id, technique.name);
    else {
      subtechniques.set(technique.id, technique.name);
      if (!techniques.has(technique.id.slice(0, dot)))
        techniques.set(technique.id.slice(0, dot), undefined);
    }
    if (technique.tactic) tactics.set(technique.tactic.id, technique.tactic.name);
  }
  const named = (entries: Map<string, string | undefined>): EcsDocument => {
    const ids = [...entries.keys()];
    const names = [...entries.values()].filter((name): name is string => name !== undefined);
    return {
      id: ids,
      // ECS keeps names parallel to ids, so names go in only when every entry has one.
      ...(names.length === ids.length ? { name: names } : {}),
      reference: ids.map(attackUrl),
    };
  };
  return {
    framework: 'MITRE ATT&CK',
    technique: {
      ...named(techniques),
      ...(subtechniques.size > 0 ? { subtechnique: named(subtechniques) } : {}),
    },
    ...(tactics.size > 0
      ? {
          tactic: {
            id: [...tactics.keys()],
            name: [...tactics.values()],
            reference: [...tactics.keys()].map(tacticUrl),
          },
        }
      : {}),
  };
}

/** The last event that says something about a process, user, network flow or VMI detail. */
export const lastWith = <K extends keyof VmiEvent>(
  events: readonly VmiEvent[],
  key: K,
): VmiEvent[K] | undefined => {
  for (let index = events.length - 1; index >= 0; index -= 1) {
    const value = events[index]![key];
    if (value !== undefined) return value;
  }
  return undefined;
};

function processFields(event: VmiEvent['process']): EcsDocument | undefined {
  if (!event) return undefined;
  const parent = compact({
    pid: event.parent?.pid ?? event.ppid,
    name: event.parent?.name,
    executable: event.parent?.executable,
  });
  return compact({
    pid: event.pid ?? event.tgid,
    name: event.name,
    executable: event.executable,
    args: event.args,
    args_count: event.args?.length,
    command_line: event.command_line ?? event.args?.join(' '),
    parent,
  });
}

function userFields(user: VmiEvent['user']): EcsDocument | undefined {
  if (!user) return undefined;
  return compact({
    id: user.id?.toString(),
    group: user.group_id !== undefined ? { id: user.group_id.toString() } : undefined,
    effective: user.effective_id !== undefined ? { id: user.effective_id.toString() } : undefined,
  });
}

/** The object, or undefined when none of its members is set (so that no empty object is sent). */
function compact<T extends object>(value: T): T | undefined {
  for (const key in value) if (value[key] !== undefined) return value;
  return undefined;
}

/**
 * The ECS document of a finding. Pure: the observer and the namespace are given, no clock is read.
 * Members left undefined are absent from the JSON (JSON.stringify drops them); no object is empty.
 */
/** The parts that are the same for every finding of one observer and namespace (frozen, shared). */
const constantCache = new WeakMap<
  Observer,
  Map<string, { observer: object; dataStream: object }>
>();
const ECS_FIELD = Object.freeze({ version: ECS_VERSION });

export function constants(
  observer: Observer,
  namespace: string,
): { observer: object; dataStream: object } {
  let byNamespace = constantCache.get(observer);
  if (!byNamespace) constantCache.set(observer, (byNamespace = new Map()));
  let parts = byNamespace.get(namespace);
  if (!parts) {
    parts = deepFreeze({
      observer: {
        hostname: observer.hostname,
        name: 'ringside',
        product: 'Ringside',
        vendor: 'Ringside',
        version: observer.version,
        type: 'sensor',
      },
      dataStream: { type: 'logs', dataset: 'ringside.findings', namespace },
    });
    byNamespace.set(namespace, parts);
  }
  return parts;
}

export interface Categorisation {
  categories: readonly string[];
  types: readonly string[];
  eventTypes: readonly string[];
}

/** Most findings come from one event: their categorisation is computed once per event type. */
const singleEventCategorisation = new Map<string, Categorisation>();

export function categorise(events: readonly VmiEvent[]): Categorisation {
  const only = events.length === 1 ? events[0]!.type : undefined;
  if (only !== undefined) {
    const known = singleEventCategorisation.get(only);
    if (known) return known;
  }
  const types = new Set<string>(['info']);
  const categories = new Set<string>(['intrusion_detection']);
  const eventTypes = new Set<string>();
  for (const event of events) {
    eventTypes.add(event.type);
    // A type from an untyped (JavaScript) plugin is not in the table: categorised as nothing more.
    const categorisation = CATEGORISATION[event.type] ?? null;
    if (categorisation) {
      categories.add(categorisation.category);
      types.add(categorisation.type);
    }
  }
  const result = deepFreeze({
    categories: [...categories],
    types: [...types],
    eventTypes: [...eventTypes],
  });
  if (only !== undefined && singleEventCategorisation.size < 256)
    singleEventCategorisation.set(only, result);
  return result;
}

export function toEcs(finding: Finding, observer: Observer, namespace = 'default'): EcsDocument {
  const shared = constants(observer, namespace);
  const { categories, types, eventTypes } = categorise(finding.events);
  const first = finding.events[0];
  const processEvent = lastWith(finding.events, 'process');
  const network = lastWith(finding.events, 'network');
  const vmi = lastWith(finding.events, 'vmi');
  const user = lastWith(finding.events, 'user');
  const module = lastWith(finding.events, 'module');
  const score = SEVERITY_SCORE[finding.severity];
  const document = {
    '@timestamp': finding.timestamp,
    ecs: ECS_FIELD,
    message: finding.message,
    tags: finding.tags && finding.tags.length > 0 ? finding.tags : undefined,
    data_stream: shared.dataStream,
    event: {
      id: finding.id,
      kind: 'alert',
      category: categories,
      type: types,
      severity: score,
      risk_score: score,
      module: 'ringside',
      dataset: 'ringside.findings',
      provider: first?.type,
    },
    rule: {
      id: finding.rule.id,
      uuid: finding.rule.id,
      name: finding.rule.name,
      description: finding.rule.description,
      ruleset: finding.rule.ruleset,
      version: finding.rule.version,
    },
    threat: threat(finding.mitre),
    host: {
      name: finding.host.name,
      hostname: finding.host.name,
      id: finding.host.id,
      architecture: finding.host.architecture,
      os: finding.host.kernel !== undefined ? { kernel: finding.host.kernel } : undefined,
      type: 'virtual-machine',
    },
    observer: shared.observer,
    process: processFields(processEvent),
    user: userFields(user),
    source:
      network?.source_ip !== undefined
        ? { ip: network.source_ip, port: network.source_port }
        : undefined,
    destination:
      network?.destination_ip !== undefined
        ? { ip: network.destination_ip, port: network.destination_port }
        : undefined,
    network: network?.transport !== undefined ? { transport: network.transport } : undefined,
    ringside: {
      severity: finding.severity,
      domain: first?.domain,
      vcpu: first?.vcpu,
      event_types: eventTypes,
      event_count: finding.events.length,
      vmi: vmi ? jsonSafe(vmi) : undefined,
      process:
        processEvent?.task !== undefined || processEvent?.kernel_thread !== undefined
          ? {
              task: processEvent.task !== undefined ? hex(processEvent.task) : undefined,
              kernel_thread: processEvent.kernel_thread,
              tgid: processEvent.tgid,
            }
          : undefined,
      user: user?.previous_id !== undefined ? { previous_id: user.previous_id } : undefined,
      module: module ? jsonSafe(module) : undefined,
      registers: first?.registers ? jsonSafe(first.registers) : undefined,
      evidence: finding.evidence ? jsonSafe(finding.evidence) : undefined,
      // Response actions the rule asked for, each with its outcome (docs/rules.md).
      actions: finding.actions ? jsonSafe(finding.actions) : undefined,
    },
  };
  return document;
}
