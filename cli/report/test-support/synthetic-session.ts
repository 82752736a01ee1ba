// A large, deterministic session for the report's tests and benches: N processes started by exec
// events in a tree (shells under services under init), other events up to a total, over an hour on
// two guests, and a few findings naming some of the processes.
import type { Finding, Severity } from '../../../introspect/events/finding.js';
import { seededRandom } from '../../../introspect/test-support/seeded-random.js';
import type { ReportProcess } from '../model.js';
import type { SessionEvent } from '../session-events.js';

export interface SyntheticSession {
  events: SessionEvent[];
  findings: Finding[];
  /** The same processes as a snapshot would list them (for a large snapshot report). */
  processes: ReportProcess[];
}

const START = Date.parse('2026-12-03T09:00:00.000Z');
const HOUR = 3_600_000;
const OTHER_TYPES = ['process.exit', 'cred.change', 'network.connect', 'module.load'];
const SEVERITY: Severity[] = ['low', 'medium', 'high', 'critical'];

export function syntheticSession(
  processCount = 10_000,
  eventCount = 100_000,
  findingCount = 60,
  seed = 20,
): SyntheticSession {
  const random = seededRandom(seed);
  const guests = ['web1', 'db1'];
  const events: SessionEvent[] = [];
  const processes: ReportProcess[] = [];
  // pid 1 on each guest is not exec'd in the session; pids are unique across guests for simplicity.
  for (let index = 0; index < processCount; index++) {
    const pid = 100 + index;
    // The first 50 are services under init, the next 1,000 shells under them, the rest commands.
    const ppid =
      index < 50
        ? 1
        : index < 1050
          ? 100 + Math.floor(random() * 50)
          : 100 + 50 + Math.floor(random() * 1000);
    const name = index < 50 ? `svc${index}` : index < 1050 ? 'sh' : `cmd${index % 97}`;
    const time = START + Math.floor((index / processCount) * HOUR);
    const guest = guests[index % 2]!;
    events.push({
      time,
      guest,
      type: 'process.exec',
      pid,
      ppid,
      uid: index % 3 === 0 ? 0 : 1000,
      name,
      executable: `/usr/bin/${name}`,
    });
    processes.push({
      pid,
      ppid,
      uid: index % 3 === 0 ? 0 : 1000,
      comm: name,
      start: (time - START) / 1000,
      executable: `/usr/bin/${name}`,
      task: `0xffff8880${pid.toString(16).padStart(8, '0')}`,
      kernelThread: false,
      hidden: false,
      missingFrom: [],
    });
  }
  while (events.length < eventCount) {
    const pid = 100 + Math.floor(random() * processCount);
    events.push({
      time: START + Math.floor(random() * HOUR),
      guest: guests[pid % 2]!,
      type: OTHER_TYPES[Math.floor(random() * OTHER_TYPES.length)]!,
      pid,
      name: `p${pid}`,
    });
  }
  const findings: Finding[] = [];
  for (let index = 0; index < findingCount; index++) {
    const pid = 100 + Math.floor(random() * processCount);
    const timestamp = new Date(START + Math.floor(random() * HOUR)).toISOString();
    const guest = guests[pid % 2]!;
    findings.push({
      id: `synthetic-${index}`,
      timestamp,
      rule: { id: `lnx-synthetic-${index % 5}`, name: 'Synthetic' },
      severity: SEVERITY[index % SEVERITY.length]!,
      message: `synthetic finding ${index} on pid ${pid}`,
      mitre: [{ id: 'T1059' }],
      host: { name: guest },
      events: [
        {
          type: 'process.exec',
          domain: guest,
          time: 0,
          timestamp,
          process: { pid, name: `p${pid}` },
        },
      ],
    });
  }
  return { events, findings, processes };
}
