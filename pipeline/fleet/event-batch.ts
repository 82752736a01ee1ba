// Several events of one guest in one NATS message: subject ringside.events.<host>.<guest>.batch, payload
// one line per event, "<event id> <event JSON>", Nats-Msg-Id a hash of the ids it holds; one event alone goes as before.
import { createHash } from 'node:crypto';
import type { VmiEvent } from '../../introspect/events/event.js';
import { toJson } from '../../introspect/events/json.js';
import { eventIdOfJson, eventSubject } from './subjects.js';

/** The type token of a batch's subject (no event type is named so: theirs have a dot, made '_'). */
export const BATCH_TOKEN = 'batch';
/** Bounds of one batch: events, and bytes of payload (nats-server's max_payload is 1 MiB by default). */
export const MAX_BATCH_EVENTS = 1024;
export const MAX_BATCH_BYTES = 512 << 10;

export interface OutgoingEvent {
  /** The event's own id (eventId()): kept per event inside a batch. */
  id: string;
  type: string;
  /** The event as one line of JSON (toJson: no raw newline). */
  json: string;
}

export interface FleetMessage {
  subject: string;
  /** Its Nats-Msg-Id: the event's id, or for a batch a hash of every id in it. */
  id: string;
  payload: string;
}

/** An event ready to go: its JSON, serialised once, and its id over that JSON. */
export function outgoingEvent(host: string, event: VmiEvent): OutgoingEvent {
  const json = toJson(event);
  return { id: eventIdOfJson(host, json), type: event.type, json };
}

/** A batch's Nats-Msg-Id: the same events in the same order (a re-send from disk) give the same id. */
export function batchId(ids: readonly string[]): string {
  const hash = createHash('sha256');
  for (const id of ids) hash.update(id).update('\n');
  return `b${hash.digest('hex').slice(0, 32)}`;
}

/** The message carrying `events` (one guest's, in order, at least one). */
export function eventMessage(
  host: string,
  guest: string,
  events: readonly OutgoingEvent[],
): FleetMessage {
  if (events.length === 1) {
    const [event] = events as [OutgoingEvent];
    return { subject: eventSubject(host, guest, event.type), id: event.id, payload: event.json };
  }
  return {
    subject: eventSubject(host, guest, BATCH_TOKEN),
    id: batchId(events.map((event) => event.id)),
    payload: events.map((event) => `${event.id} ${event.json}`).join('\n'),
  };
}

/**
 * Takes from the front of `waiting` the events of the next message: up to MAX_BATCH_EVENTS and
 * MAX_BATCH_BYTES (always at least one).
 */
export function takeBatch(waiting: OutgoingEvent[]): OutgoingEvent[] {
  let bytes = 0;
  let count = 0;
  while (count < waiting.length && count < MAX_BATCH_EVENTS) {
    bytes += waiting[count]!.json.length + 34;
    if (count > 0 && bytes > MAX_BATCH_BYTES) break;
    count += 1;
  }
  return waiting.splice(0, count);
}

/** True for the subject of a batch (stored with or without the partition token). */
export const isBatchSubject = (subject: string): boolean =>
  subject.split('.', 5)[4] === BATCH_TOKEN;

/**
 * The events' JSON texts in a stored message, in order: the payload itself, or a batch's lines
 * (each id dropped; a line without one is given whole).
 */
export function unpackEvents(subject: string, payload: string): string[] {
  if (!isBatchSubject(subject)) return [payload];
  return payload.split('\n').map((line) => {
    if (line.startsWith('{')) return line;
    const space = line.indexOf(' ');
    return space < 0 ? line : line.slice(space + 1);
  });
}
