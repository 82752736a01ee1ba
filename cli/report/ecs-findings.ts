// Reads findings back from the ECS NDJSON Ringside's sinks write (a file sink, `check --json`), or
// Ringside's own JSON (`rules run`), for the session report: each document becomes a finding.
import type { VmiEvent } from '../../introspect/events/event.js';
import { SEVERITIES, type Finding, type Severity } from '../../introspect/events/finding.js';
import { InputError } from '../../introspect/errors.js';
import { findingFromNative, isNativeFinding } from './native-findings.js';
import { eventFromNdjson, MAX_SESSION_EVENTS, type SessionEvent } from './session-events.js';
import { object, ruleOf, text, type Json } from './json-fields.js';

/** Findings read at most; a longer file is cut there with a warning. */
export const MAX_SESSION_FINDINGS = 100_000;

const count = (value: unknown): number | undefined => {
  const number = typeof value === 'string' ? Number(value) : value;
  return typeof number === 'number' && Number.isFinite(number) ? number : undefined;
};
const strings = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];

/** One ECS document as a finding, or a message saying what is missing. */
export function findingFromEcs(document: Json): Finding | string {
  const rule = object(document.rule);
  const ringside = object(document.ringside) ?? {};
  const timestamp = text(document['@timestamp']);
  const severity = text(ringside.severity) as Severity | undefined;
  if (!rule || !text(rule.id)) return 'no rule.id';
  if (!timestamp) return 'no @timestamp';
  if (!severity || !SEVERITIES.includes(severity)) return 'no ringside.severity';
  const host = object(document.host) ?? {};
  const proc = object(document.process);
  const parent = object(proc?.parent);
  const user = object(document.user);
  const threat = object(document.threat);
  const technique = object(threat?.technique);
  const ids = strings(technique?.id);
  const names = strings(technique?.name);
  const event: Json = {
    type: strings(ringside.event_types).at(-1) ?? 'integrity.violation',
    domain: text(ringside.domain) ?? text(host.name) ?? '?',
    time: Date.parse(timestamp),
    timestamp,
    ...(count(ringside.vcpu) !== undefined ? { vcpu: count(ringside.vcpu) } : {}),
  };
  if (proc)
    event.process = {
      pid: count(proc.pid),
      name: text(proc.name),
      executable: text(proc.executable),
      command_line: text(proc.command_line),
      ...(parent
        ? { ppid: count(parent.pid), parent: { pid: count(parent.pid), name: text(parent.name) } }
        : {}),
    };
  if (user)
    event.user = {
      id: count(user.id),
      effective_id: count(object(user.effective)?.id),
    };
  // The VMI and module groups were written with addresses as 0x strings: shown as they are.
  if (object(ringside.vmi)) event.vmi = ringside.vmi;
  if (object(ringside.module)) event.module = ringside.module;
  const destination = object(document.destination);
  if (destination)
    event.network = {
      destination_ip: text(destination.ip),
      destination_port: count(destination.port),
    };
  const evidence = object(ringside.evidence);
  return {
    id: text(object(document.event)?.id) ?? '',
    timestamp,
    rule: ruleOf(rule),
    severity,
    message: text(document.message) ?? '',
    mitre: ids.map((id, index) =>
      names.length === ids.length ? { id, name: names[index]! } : { id },
    ),
    host: { name: text(host.name) ?? '?' },
    events: [event as unknown as VmiEvent],
    ...(evidence ? { evidence } : {}),
  };
}

/**
 * Every finding of an NDJSON text, and the events among them (lines of `ringside monitor`'s event
 * stream); a line that is neither is bad input, named by its line.
 */
export function readEcsFindings(
  source: string,
  ndjson: string,
): { findings: Finding[]; events: SessionEvent[]; warnings: string[] } {
  const findings: Finding[] = [];
  const events: SessionEvent[] = [];
  let droppedEvents = 0;
  const warnings: string[] = [];
  let line = 0;
  for (const row of ndjson.split('\n')) {
    line += 1;
    if (row.trim() === '') continue;
    if (findings.length >= MAX_SESSION_FINDINGS) {
      warnings.push(`only the first ${MAX_SESSION_FINDINGS} findings are shown`);
      break;
    }
    let document: Json | undefined;
    try {
      document = object(JSON.parse(row));
    } catch {
      throw new InputError('not JSON', `${source}:${line}`);
    }
    const event = document ? eventFromNdjson(document) : undefined;
    if (event) {
      if (events.length < MAX_SESSION_EVENTS) events.push(event);
      else droppedEvents += 1;
      continue;
    }
    if (document && isNativeFinding(document)) {
      const native = findingFromNative(document);
      if (typeof native === 'string')
        throw new InputError(`not a Ringside finding (${native})`, `${source}:${line}`);
      findings.push(native);
      continue;
    }
    const finding = document ? findingFromEcs(document) : 'not an object';
    if (typeof finding === 'string')
      throw new InputError(`not a Ringside ECS finding (${finding})`, `${source}:${line}`);
    findings.push(finding);
  }
  if (droppedEvents)
    warnings.push(`${droppedEvents} later event(s) not kept (limit ${MAX_SESSION_EVENTS})`);
  return { findings, events, warnings };
}
