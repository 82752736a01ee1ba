// The data of the live terminal view (`monitor --tui`, `top`): guests, event rates, the newest
// findings and the process tree as exec/exit events grow it. Plain values, no terminal, no clock.
import type { VmiEvent } from '../../introspect/events/event.js';
import type { Finding, Severity } from '../../introspect/events/finding.js';
import { escapeForTerminal } from '../../sinks/text/terminal.js';

/** The seconds the event rate is averaged over. */
export const RATE_WINDOW_SECONDS = 10;
/** Findings kept for the view (the newest). */
export const MAX_FINDINGS = 200;
/** Processes kept per guest; past it, the longest-exited go first, then the oldest. */
export const MAX_PROCESSES = 20_000;
/** Exited processes stay in the tree this long, marked, then leave it. */
export const EXITED_KEPT_MS = 30_000;
/** Levels of nesting drawn; a deeper (hostile) parent chain is drawn flat at the last level. */
export const TREE_MAX_DEPTH = 32;

export interface GuestFacts {
  name: string;
  kernel?: string;
  architecture?: string;
  plugins?: readonly string[];
}

export interface SeedProcess {
  pid: number;
  ppid: number;
  uid: number;
  comm: string;
  kernelThread: boolean;
}

interface ProcessState {
  pid: number;
  ppid: number;
  uid: number;
  name: string;
  executable?: string;
  kernelThread: boolean;
  /** Host time (ms) of the exit event, when it exited. */
  exitedAt?: number;
}

interface GuestState {
  facts: GuestFacts;
  events: number;
  findings: number;
  /** Events per second of host time, a ring of RATE_WINDOW_SECONDS buckets. */
  buckets: number[];
  bucketSecond: number;
  byType: Map<string, number>;
  processes: Map<number, ProcessState>;
  /** Pids named by findings: highlighted in the tree. */
  flagged: Set<number>;
  lastEventAt?: number;
}

export interface GuestRow {
  name: string;
  kernel: string;
  architecture: string;
  plugins: string;
  events: number;
  /** Events per second over the last RATE_WINDOW_SECONDS. */
  rate: number;
  findings: number;
  processes: number;
  /** The busiest event types, most first: "process.exec 12". */
  topTypes: string[];
}

export interface FindingRow {
  time: string;
  guest: string;
  severity: Severity;
  rule: string;
  message: string;
}

export interface TreeRow {
  guest: string;
  depth: number;
  pid: number;
  uid: number;
  name: string;
  executable: string;
  flagged: boolean;
  exited: boolean;
  /** Kernel threads folded under this row (kthreadd). */
  folded: number;
}

export interface TopView {
  guests: GuestRow[];
  findings: FindingRow[];
  tree: TreeRow[];
  /** Every tree row's count, for scrolling. */
  treeSize: number;
  /** Where the flagged processes are in the whole tree (row numbers), for jumping to them. */
  flaggedAt: number[];
  notices: string[];
}

const safe = (text: string | undefined, max = 200): string =>
  escapeForTerminal((text ?? '').slice(0, max));

/** The live view's state: fed events and findings as they come, read as a TopView when drawn. */
export class TopModel {
  readonly #guests = new Map<string, GuestState>();
  readonly #findings: FindingRow[] = [];
  readonly #notices: string[] = [];
  /** Bumped on every change: the renderer draws only when it moved. */
  version = 0;

  #guest(name: string): GuestState {
    let guest = this.#guests.get(name);
    if (!guest) {
      guest = {
        facts: { name },
        events: 0,
        findings: 0,
        buckets: new Array<number>(RATE_WINDOW_SECONDS).fill(0),
        bucketSecond: 0,
        byType: new Map(),
        processes: new Map(),
        flagged: new Set(),
      };
      this.#guests.set(name, guest);
    }
    return guest;
  }

  /** What is known of a guest once attached; processes from its task list at that moment. */
  attach(facts: GuestFacts, processes: readonly SeedProcess[] = []): void {
    const guest = this.#guest(facts.name);
    guest.facts = { ...facts };
    for (const p of processes.slice(0, MAX_PROCESSES))
      guest.processes.set(p.pid, {
        pid: p.pid,
        ppid: p.ppid,
        uid: p.uid,
        name: p.comm,
        kernelThread: p.kernelThread,
      });
    this.version++;
  }

  notice(line: string): void {
    this.#notices.push(safe(line, 400));
    if (this.#notices.length > 5) this.#notices.shift();
    this.version++;
  }

  /** One event, seen at host time `now` (ms), of the guest attached as `guestName` (default: the
   *  event's domain; a replayed trace keeps the domain it was recorded on). */
  event(event: VmiEvent, now: number, guestName = event.domain): void {
    const guest = this.#guest(guestName);
    guest.events++;
    guest.lastEventAt = now;
    this.#count(guest, now);
    guest.byType.set(event.type, (guest.byType.get(event.type) ?? 0) + 1);
    const p = event.process;
    if (event.type === 'process.exec' && p?.pid !== undefined) {
      const known = guest.processes.get(p.pid);
      const ppid = p.parent?.pid ?? p.ppid ?? known?.ppid ?? 0;
      const state: ProcessState = {
        pid: p.pid,
        ppid,
        uid: event.user?.id ?? known?.uid ?? -1,
        name: p.name ?? known?.name ?? '?',
        ...(p.executable !== undefined ? { executable: p.executable } : {}),
        kernelThread: false,
      };
      // A re-used pid is a new process: delete first so it moves to the end (newest).
      guest.processes.delete(p.pid);
      guest.processes.set(p.pid, state);
      // A parent the tree has not seen gets a place, under nothing.
      if (ppid > 0 && !guest.processes.has(ppid) && p.parent?.name !== undefined)
        guest.processes.set(ppid, {
          pid: ppid,
          ppid: 0,
          uid: -1,
          name: p.parent.name,
          ...(p.parent.executable !== undefined ? { executable: p.parent.executable } : {}),
          kernelThread: false,
        });
      this.#trim(guest, now);
    } else if (event.type === 'process.exit' && p?.pid !== undefined) {
      const known = guest.processes.get(p.pid);
      if (known) known.exitedAt = now;
    }
    this.version++;
  }

  finding(finding: Finding, guestName = finding.host.name): void {
    const guest = this.#guest(guestName);
    guest.findings++;
    for (const event of finding.events)
      if (event.process?.pid !== undefined) guest.flagged.add(event.process.pid);
    this.#findings.unshift({
      time: finding.timestamp.slice(11, 19),
      guest: safe(guestName, 40),
      severity: finding.severity,
      rule: safe(finding.rule.id, 80),
      message: safe(finding.message, 300),
    });
    if (this.#findings.length > MAX_FINDINGS) this.#findings.pop();
    this.version++;
  }

  #count(guest: GuestState, now: number): void {
    const second = Math.floor(now / 1000);
    this.#advance(guest, second);
    guest.buckets[second % RATE_WINDOW_SECONDS]! += 1;
  }

  /** Zeroes the buckets of the seconds that passed without events. */
  #advance(guest: GuestState, second: number): void {
    if (second <= guest.bucketSecond) return;
    const gap = Math.min(second - guest.bucketSecond, RATE_WINDOW_SECONDS);
    for (let step = 1; step <= gap; step++)
      guest.buckets[(guest.bucketSecond + step) % RATE_WINDOW_SECONDS] = 0;
    guest.bucketSecond = second;
  }

  #trim(guest: GuestState, now: number): void {
    if (guest.processes.size <= MAX_PROCESSES) return;
    for (const [pid, p] of guest.processes)
      if (p.exitedAt !== undefined && p.exitedAt <= now) {
        guest.processes.delete(pid);
        if (guest.processes.size <= MAX_PROCESSES) return;
      }
    // Still too many: the oldest (first inserted) go.
    for (const pid of guest.processes.keys()) {
      guest.processes.delete(pid);
      if (guest.processes.size <= MAX_PROCESSES) return;
    }
  }

  /** What to draw at host time `now`: `treeRows` tree rows from `treeOffset`. */
  view(now: number, treeOffset = 0, treeRows = 20): TopView {
    const guests: GuestRow[] = [];
    const tree: TreeRow[] = [];
    let treeSize = 0;
    const flaggedAt: number[] = [];
    for (const guest of this.#guests.values()) {
      this.#advance(guest, Math.floor(now / 1000));
      for (const [pid, p] of guest.processes)
        if (p.exitedAt !== undefined && now - p.exitedAt > EXITED_KEPT_MS)
          guest.processes.delete(pid);
      const total = guest.buckets.reduce((sum, count) => sum + count, 0);
      guests.push({
        name: safe(guest.facts.name, 40),
        kernel: safe(guest.facts.kernel ?? '?', 60),
        architecture: safe(guest.facts.architecture ?? '?', 20),
        plugins: safe((guest.facts.plugins ?? []).join(','), 200),
        events: guest.events,
        rate: total / RATE_WINDOW_SECONDS,
        findings: guest.findings,
        processes: guest.processes.size,
        topTypes: [...guest.byType]
          .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
          .slice(0, 4)
          .map(([type, count]) => `${type} ${count}`),
      });
      const rows = treeRowsOf(guest);
      for (const row of rows) {
        if (treeSize >= treeOffset && tree.length < treeRows) tree.push(row);
        if (row.flagged) flaggedAt.push(treeSize);
        treeSize++;
      }
    }
    return {
      guests,
      findings: [...this.#findings],
      tree,
      treeSize,
      flaggedAt,
      notices: [...this.#notices],
    };
  }
}

/** A guest's processes as a tree in depth-first order, kernel threads folded under kthreadd. */
function treeRowsOf(guest: GuestState): TreeRow[] {
  const children = new Map<number, ProcessState[]>();
  const roots: ProcessState[] = [];
  let folded = 0;
  const kthreadd = [...guest.processes.values()].find(
    (p) => p.kernelThread && p.name === 'kthreadd',
  );
  for (const p of guest.processes.values()) {
    if (p.kernelThread && p !== kthreadd && !guest.flagged.has(p.pid)) {
      folded++;
      continue;
    }
    const parent = p.ppid !== p.pid ? guest.processes.get(p.ppid) : undefined;
    if (!parent) roots.push(p);
    else {
      let list = children.get(parent.pid);
      if (!list) children.set(parent.pid, (list = []));
      list.push(p);
    }
  }
  const rows: TreeRow[] = [];
  const visited = new Set<number>();
  // Iterative depth-first walk: a 20,000-deep chain must not overflow the stack, a cycle (every
  // member's parent known) has no root and is drawn flat below.
  const stack: { p: ProcessState; depth: number }[] = roots
    .sort((a, b) => b.pid - a.pid)
    .map((p) => ({ p, depth: 0 }));
  const push = (p: ProcessState, depth: number) => {
    visited.add(p.pid);
    rows.push({
      guest: safe(guest.facts.name, 40),
      depth: Math.min(depth, TREE_MAX_DEPTH),
      pid: p.pid,
      uid: p.uid,
      name: safe(p.name, 64),
      executable: safe(p.executable, 200),
      flagged: guest.flagged.has(p.pid),
      exited: p.exitedAt !== undefined,
      folded: p === kthreadd ? folded : 0,
    });
    const kids = (children.get(p.pid) ?? []).sort((a, b) => b.pid - a.pid);
    for (const kid of kids) stack.push({ p: kid, depth: depth + 1 });
  };
  const drain = () => {
    while (stack.length > 0) {
      const { p, depth } = stack.pop()!;
      if (!visited.has(p.pid)) push(p, depth);
    }
  };
  drain();
  for (const p of guest.processes.values())
    if (!visited.has(p.pid) && !(p.kernelThread && p !== kthreadd && !guest.flagged.has(p.pid))) {
      stack.push({ p, depth: 0 });
      drain();
    }
  return rows;
}
