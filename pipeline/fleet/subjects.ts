// NATS subject names of fleet mode: ringside.events.<host>.<guest>.<type> (process.exec → process_exec)
// and ringside.findings.<host>.<guest>.
import { createHash } from 'node:crypto';
import type { VmiEvent } from '../../introspect/events/event.js';
import { toJson } from '../../introspect/events/json.js';

export const EVENTS_STREAM = 'RINGSIDE_EVENTS';
export const FINDINGS_STREAM = 'RINGSIDE_FINDINGS';
export const EVENTS_PREFIX = 'ringside.events';
export const FINDINGS_PREFIX = 'ringside.findings';

/** Host and guest names may come from guests (attacker-influenced): made into safe tokens. */
const MAX_TOKEN = 64;

/**
 * A NATS subject token from any string: '.', '*', '>', whitespace and control characters would split
 * or widen a subject, so every character outside [A-Za-z0-9_-] becomes '_'; bounded in length, never
 * empty. Names that differ only in replaced characters keep apart by a short hash suffix.
 */
export function subjectToken(value: string): string {
  const cleaned = value.slice(0, MAX_TOKEN).replace(/[^A-Za-z0-9_-]/g, '_');
  if (cleaned === value && cleaned.length > 0) return cleaned;
  const hash = createHash('sha256').update(value).digest('hex').slice(0, 8);
  return `${cleaned || '_'}-${hash}`;
}

export const eventSubject = (host: string, guest: string, type: string): string =>
  `${EVENTS_PREFIX}.${subjectToken(host)}.${subjectToken(guest)}.${subjectToken(type.replace(/\./g, '_'))}`;

export const findingSubject = (host: string, guest: string): string =>
  `${FINDINGS_PREFIX}.${subjectToken(host)}.${subjectToken(guest)}`;

/** Host and guest tokens of an event or finding subject, or undefined for another subject. */
export function parseSubject(subject: string): { host: string; guest: string } | undefined {
  const parts = subject.split('.');
  if (parts[0] !== 'ringside' || parts.length < 4) return undefined;
  return { host: parts[2]!, guest: parts[3]! };
}

/**
 * An event's id (its Nats-Msg-Id, or its line's id in a batch): SHA-256 over the host and the event's
 * JSON as sent. Events carry a monotonic time, so two distinct events differ; the same event re-sent
 * from the agent's disk buffer after a lost ack keeps its stored id and JetStream's duplicate window drops it.
 */
export function eventIdOfJson(host: string, json: string): string {
  return createHash('sha256').update(host).update('\n').update(json).digest('hex').slice(0, 32);
}

export const eventId = (host: string, event: VmiEvent): string =>
  eventIdOfJson(host, toJson(event));
