// The events of a monitoring session as the session report keeps them (a few fields each, so 100,000
// fit), from a live event or a line of the monitor's NDJSON, and the process tree they grew.
import type { VmiEvent } from '../../introspect/events/event.js';
import type { Finding } from '../../introspect/events/finding.js';
import type { ReportProcess } from './model.js';
import { object, type Json } from './json-fields.js';

/** Events kept at most; later ones are counted, not kept. */
export const MAX_SESSION_EVENTS = 200_000;

export interface SessionEvent {
  /** Wall-clock time, ms since the epoch. */
  time: number;
  guest: string;
  type: string;
  pid?: number;
  ppid?: number;
  uid?: number;
  name?: string;
  executable?: string;
}

const text = (value: unknown, max = 4096): string | undefined =>
  typeof value === 'string' ? value.slice(0, max) : undefined;
const integer = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;

/** The fields a session keeps of an event, from the event itself or its NDJSON document. */
function fromFields(document: Json, fallbackTime: number): SessionEvent {
  const process = object(document.process);
  const parent = object(process?.parent);
  const user = object(document.user);
  const stamped = Date.parse(text(document.timestamp) ?? '');
  const pid = integer(process?.pid);
  const ppid = integer(parent?.pid) ?? integer(process?.ppid);
  const uid = integer(user?.id);
  const name = text(process?.name, 256);
  const executable = text(process?.executable);
  return {
    time: Number.isFinite(stamped) ? stamped : fallbackTime,
    guest: text(document.domain, 256) ?? '?',
    type: text(document.type, 64) ?? '?',
    ...(pid !== undefined ? { pid } : {}),
    ...(ppid !== undefined ? { ppid } : {}),
    ...(uid !== undefined ? { uid } : {}),
    ...(name !== undefined ? { name } : {}),
    ...(executable !== undefined ? { executable } : {}),
  };
}

/** A live event as the session keeps it (stamped `now` when it carries no wall-clock time). */
export const sessionEvent = (event: VmiEvent, now = Date.now()): SessionEvent =>
  fromFields(event as unknown as Json, now);

/**
 * A line of the monitor's event NDJSON (`ringside monitor` without --rules) as a session event, or
 * undefined when the document is not one (no `type` and `domain`, or a finding).
 */
export function eventFromNdjson(document: Json): SessionEvent | undefined {
  if (document.rule !== undefined || typeof document.type !== 'string') return undefined;
  if (typeof document.domain !== 'string') return undefined;
  const time = Date.parse(text(document.timestamp) ?? '');
  return Number.isFinite(time) ? fromFields(document, time) : undefined;
}

/**
 * The process tree as the session saw it grow: each process at its first exec (its latest name
 * and executable), then those findings name that no exec showed. `start` is seconds since the
 * session's first event or finding.
 */
export function grownProcesses(
  events: readonly SessionEvent[],
  named: readonly ReportProcess[],
  origin: number,
): ReportProcess[] {
  const byPid = new Map<number, ReportProcess>();
  for (const event of events) {
    if (event.pid === undefined) continue;
    if (event.type === 'process.exec') {
      const known = byPid.get(event.pid);
      byPid.set(event.pid, {
        pid: event.pid,
        ppid: event.ppid ?? known?.ppid ?? 0,
        uid: event.uid ?? known?.uid ?? -1,
        comm: event.name ?? known?.comm ?? '?',
        start: known?.start ?? (event.time - origin) / 1000,
        ...((event.executable ?? known?.executable) !== undefined
          ? { executable: (event.executable ?? known?.executable)! }
          : {}),
        task: '',
        kernelThread: false,
        hidden: false,
        missingFrom: [],
      });
    }
  }
  for (const process of named)
    if (!byPid.has(process.pid)) byPid.set(process.pid, process);
    else if (process.hidden) byPid.set(process.pid, { ...byPid.get(process.pid)!, hidden: true });
  return [...byPid.values()];
}

/** The earliest time of a session: its first event or finding (ms since the epoch). */
export function sessionOrigin(events: readonly SessionEvent[], findings: readonly Finding[]) {
  let first = Infinity;
  for (const event of events) if (event.time < first) first = event.time;
  for (const finding of findings) {
    const time = Date.parse(finding.timestamp);
    if (time < first) first = time;
  }
  return Number.isFinite(first) ? first : 0;
}
