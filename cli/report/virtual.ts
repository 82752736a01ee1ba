// The report's large parts as data the page draws itself: a process tree or an event list of any
// length keeps only its visible rows in the DOM, and the timeline is a canvas one zooms and pans.
import type { Finding } from '../../introspect/events/finding.js';
import { SEVERITIES } from '../../introspect/events/finding.js';
import { markup, trusted, type Html } from './html.js';
import type { ReportProcess } from './model.js';
import { findingAnchor, findingPids, processChildren, TREE_MAX_DEPTH } from './links.js';
import type { SessionEvent } from './session-events.js';

/** Above this many processes the tree is drawn by the page, a screenful at a time. */
export const VIRTUAL_TREE_THRESHOLD = 1000;

/**
 * Data for the page's script, in a block the browser never runs. `<` is escaped so that no guest
 * string can close the block; the page reads it with JSON.parse and shows it with textContent.
 */
export function jsonBlock(id: string, value: unknown): Html {
  const json = JSON.stringify(value).replace(/</g, '\\u003c');
  return trusted(`<script type="application/json" id="${id}">${json}</script>`);
}

/** Bits of a tree row's flags. */
export const ROW_FLAGGED = 1;
export const ROW_HIDDEN = 2;
export const ROW_KTHREAD = 4;

/** [depth, pid, comm, uid, start, executable, flags, badges [anchor, severity, rule], missed-by, children]. */
export type TreeRow = [
  number,
  number,
  string,
  number,
  number,
  string,
  number,
  [string, string, string][],
  string,
  number,
];

/** The tree in depth-first order, iteratively (a hostile chain as deep as the list, a cycle). */
export function treeRows(
  processes: readonly ReportProcess[],
  findings: readonly Finding[],
): TreeRow[] {
  const children = processChildren(processes);
  const byPid = new Map<number, Finding[]>();
  for (const finding of findings)
    for (const pid of findingPids(finding)) {
      let list = byPid.get(pid);
      if (!list) byPid.set(pid, (list = []));
      list.push(finding);
    }
  const rows: TreeRow[] = [];
  const seen = new Set<number>();
  const walk = (root: ReportProcess) => {
    const stack = [{ process: root, depth: 0 }];
    while (stack.length > 0) {
      const { process: p, depth } = stack.pop()!;
      if (seen.has(p.pid)) continue;
      seen.add(p.pid);
      const kids = (children.get(p.pid) ?? []).filter((kid) => !seen.has(kid.pid));
      const badges = (byPid.get(p.pid) ?? []).map((finding): [string, string, string] => [
        findingAnchor(finding),
        finding.severity,
        finding.rule.id,
      ]);
      rows.push([
        depth,
        p.pid,
        p.comm,
        p.uid,
        Math.round(p.start * 100) / 100,
        p.executable ?? '',
        (badges.length ? ROW_FLAGGED : 0) |
          (p.hidden ? ROW_HIDDEN : 0) |
          (p.kernelThread ? ROW_KTHREAD : 0),
        badges,
        p.missingFrom.join(', '),
        kids.length,
      ]);
      const next = Math.min(depth + 1, TREE_MAX_DEPTH);
      for (let index = kids.length - 1; index >= 0; index--)
        stack.push({ process: kids[index]!, depth: next });
    }
  };
  for (const root of children.get(0) ?? []) walk(root);
  for (const p of processes) if (!seen.has(p.pid)) walk(p);
  return rows;
}

/** A tree the page draws a screenful at a time; `#proc-PID` still finds its row. */
export function renderVirtualTree(
  processes: readonly ReportProcess[],
  findings: readonly Finding[],
): Html {
  return markup`<p class="muted">${processes.length} processes: the page draws the rows in view (▸ folds, ▾ unfolds).</p>
<div class="vlist vtree" data-rows="tree-rows" tabindex="0"><div class="vspace"></div></div>
${jsonBlock('tree-rows', treeRows(processes, findings))}`;
}

/** [ms since origin, guest index, type, pid, name, executable] */
export type EventRow = [number, number, string, number, string, string];

function guestIndex(guests: string[], lookup: Map<string, number>, guest: string): number {
  let index = lookup.get(guest);
  if (index === undefined) {
    index = guests.length;
    guests.push(guest);
    lookup.set(guest, index);
  }
  return index;
}

/** The session's events, oldest first, as a list the page draws a screenful at a time. */
export function renderEventList(events: readonly SessionEvent[], origin: number): Html {
  const guests: string[] = [];
  const lookup = new Map<string, number>();
  const rows = [...events]
    .sort((a, b) => a.time - b.time)
    .map((event): EventRow => [
      event.time - origin,
      guestIndex(guests, lookup, event.guest),
      event.type,
      event.pid ?? -1,
      event.name ?? '',
      event.executable ?? '',
    ]);
  return markup`<div class="vlist vevents" data-rows="event-rows" tabindex="0"><div class="vspace"></div></div>
${jsonBlock('event-rows', { origin, guests, rows })}`;
}

/**
 * One canvas lane per guest: event density as grey bars, findings as coloured marks linked to them.
 * The wheel zooms around the pointer, a drag pans, a double click resets; a click on a lane scrolls
 * the event list to that moment.
 */
export function renderZoomableTimeline(
  findings: readonly Finding[],
  events: readonly SessionEvent[],
  origin: number,
): Html {
  const lanes = new Map<string, { events: number[]; findings: [number, number, string][] }>();
  const lane = (guest: string) => {
    let entry = lanes.get(guest);
    if (!entry) lanes.set(guest, (entry = { events: [], findings: [] }));
    return entry;
  };
  let end = 0;
  for (const event of events) {
    const at = event.time - origin;
    lane(event.guest).events.push(at);
    if (at > end) end = at;
  }
  for (const finding of findings) {
    const at = Date.parse(finding.timestamp) - origin;
    if (!Number.isFinite(at)) continue;
    lane(finding.host.name).findings.push([
      at,
      SEVERITIES.indexOf(finding.severity),
      findingAnchor(finding),
    ]);
    if (at > end) end = at;
  }
  if (lanes.size === 0) return markup`<p class="muted">nothing happened</p>`;
  for (const entry of lanes.values()) entry.events.sort((a, b) => a - b);
  const data = {
    origin,
    end: Math.max(end, 1000),
    lanes: [...lanes].map(([name, entry]) => ({ name, ...entry })),
  };
  return markup`<div class="ztimeline" data-source="timeline-data">
<div class="zcontrols"><button type="button" data-zoom="in">+</button> <button type="button" data-zoom="out">−</button> <button type="button" data-zoom="reset">all</button> <span class="zrange muted"></span></div>
${[...lanes.keys()].map((name, index) => markup`<div class="zlane"><span class="lane-name" title="${name}">${name}</span><canvas class="zcanvas" data-lane="${index}" height="28"></canvas></div>`)}
</div>
${jsonBlock('timeline-data', data)}`;
}
