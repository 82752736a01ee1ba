// Keeps a monitoring session's findings and writes its HTML report every few minutes and at the
// end (`ringside monitor --report`): a crash or a kill -9 loses at most one interval.
import { writeFileSync } from 'node:fs';
import type { Finding } from '../../introspect/events/finding.js';
import { MAX_SESSION_FINDINGS } from './ecs-findings.js';
import { renderSession } from './session.js';
import { MAX_SESSION_EVENTS, sessionEvent, type SessionEvent } from './session-events.js';
import type { VmiEvent } from '../../introspect/events/event.js';

export interface SessionWriter {
  add(finding: Finding): void;
  /** An event the detectors saw: the timeline and the process tree are drawn from them. */
  event(event: VmiEvent): void;
  /** Writes the page now; a failure is returned as a message (the monitor goes on). */
  write(): string | undefined;
  /** Stops the timer and writes the page a last time. */
  close(): string | undefined;
}

export function createSessionWriter(path: string, everyMs: number, guest: string): SessionWriter {
  const findings: Finding[] = [];
  let dropped = 0;
  const events: SessionEvent[] = [];
  let droppedEvents = 0;
  const started = new Date().toISOString();
  const write = (): string | undefined => {
    try {
      writeFileSync(
        path,
        renderSession({
          title: `Ringside session report: ${guest}`,
          source: `ringside monitor of ${guest} since ${started}`,
          generated: new Date().toISOString(),
          findings,
          events,
          warnings: [
            ...(dropped
              ? [`${dropped} later finding(s) not kept (limit ${MAX_SESSION_FINDINGS})`]
              : []),
            ...(droppedEvents
              ? [`${droppedEvents} later event(s) not kept (limit ${MAX_SESSION_EVENTS})`]
              : []),
          ],
        }),
      );
      return undefined;
    } catch (error) {
      return `${path}: cannot write the session report (${(error as Error).message})`;
    }
  };
  const timer =
    everyMs > 0
      ? setInterval(() => {
          const problem = write();
          if (problem) process.stderr.write(`ringside: warning: ${problem}\n`);
        }, everyMs)
      : undefined;
  timer?.unref();
  return {
    add(finding) {
      if (findings.length < MAX_SESSION_FINDINGS) findings.push(finding);
      else dropped += 1;
    },
    event(event) {
      if (events.length < MAX_SESSION_EVENTS) events.push(sessionEvent(event));
      else droppedEvents += 1;
    },
    write,
    close() {
      if (timer) clearInterval(timer);
      return write();
    },
  };
}
