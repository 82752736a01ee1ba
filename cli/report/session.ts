// The session report: what a monitoring session saw, per guest — a timeline of its events and
// findings, the process tree as exec events grew it, the events, and each finding with its evidence.
import type { Finding } from '../../introspect/events/finding.js';
import { markup, type Html } from './html.js';
import type { ReportProcess } from './model.js';
import {
  bySeverity,
  findingAnchor,
  pageEnd,
  pageHead,
  renderFinding,
  renderProcesses,
} from './render.js';
import { grownProcesses, sessionOrigin, type SessionEvent } from './session-events.js';
import { renderEventList, renderZoomableTimeline } from './virtual.js';

export interface SessionModel {
  title: string;
  source: string;
  generated: string;
  findings: Finding[];
  /** The session's events (process.exec, …), when it kept them. */
  events?: readonly SessionEvent[];
  warnings: string[];
}

/** The processes the findings name, each at the first time it was seen, parents as they were given. */
export function sessionProcesses(findings: readonly Finding[], origin?: number): ReportProcess[] {
  const byPid = new Map<number, ReportProcess>();
  const ordered = [...findings].sort((a, b) => a.timestamp.localeCompare(b.timestamp));
  const start = origin ?? (ordered.length ? Date.parse(ordered[0]!.timestamp) : 0);
  for (const finding of ordered)
    for (const event of finding.events) {
      const p = event.process;
      if (p?.pid === undefined || byPid.has(p.pid)) continue;
      const parent = p.parent?.pid ?? p.ppid;
      const seen = (Date.parse(event.timestamp ?? finding.timestamp) - start) / 1000;
      byPid.set(p.pid, {
        pid: p.pid,
        ppid: parent ?? 0,
        uid: event.user?.id ?? -1,
        comm: p.name ?? '?',
        start: Number.isFinite(seen) ? seen : 0,
        ...(p.executable ? { executable: p.executable } : {}),
        task: '',
        kernelThread: p.kernel_thread ?? false,
        hidden: event.type === 'process.hidden',
        missingFrom: event.type === 'process.hidden' ? ['taskList'] : [],
      });
      // A parent named only by its pid still gets a place in the tree.
      if (parent !== undefined && parent > 0 && !byPid.has(parent) && p.parent?.name)
        byPid.set(parent, {
          pid: parent,
          ppid: 0,
          uid: -1,
          comm: p.parent.name,
          start: Number.isFinite(seen) ? seen : 0,
          task: '',
          kernelThread: false,
          hidden: false,
          missingFrom: [],
        });
    }
  return [...byPid.values()];
}

/** One row per guest: each finding a mark at its time, linked to the finding. */
export function renderTimeline(findings: readonly Finding[]): Html {
  if (findings.length === 0) return markup`<p class="muted">no finding</p>`;
  const times = findings.map((finding) => Date.parse(finding.timestamp));
  const first = Math.min(...times);
  const span = Math.max(1, Math.max(...times) - first);
  const guests = new Map<string, Finding[]>();
  for (const finding of findings) {
    let list = guests.get(finding.host.name);
    if (!list) guests.set(finding.host.name, (list = []));
    list.push(finding);
  }
  const rows = [...guests].map(([guest, list]) => {
    const marks = list.map((finding) => {
      // The policy forbids style attributes: the page's script places each mark from its percent.
      const slot = Math.round(((Date.parse(finding.timestamp) - first) / span) * 100);
      return markup`<a class="mark sev-${finding.severity}" data-slot="${slot}" href="#${findingAnchor(finding)}" title="${finding.timestamp} ${finding.rule.id}: ${finding.message}"></a>`;
    });
    return markup`<div class="lane"><span class="lane-name">${guest}</span><span class="lane-marks">${marks}</span><span class="muted">${list.length}</span></div>`;
  });
  return markup`<div class="timeline"><div class="muted">${new Date(first).toISOString()} → ${new Date(first + span).toISOString()}</div>${rows}</div>`;
}

export function renderSession(model: SessionModel): string {
  const findings = bySeverity(model.findings);

  const warnings = model.warnings.length
    ? markup`<div class="warnings"><ul>${model.warnings.map((warning) => markup`<li>${warning}</li>`)}</ul></div>`
    : '';
  const events = model.events ?? [];
  const origin = sessionOrigin(events, findings);
  const named = sessionProcesses(findings, origin);
  const processes = events.length ? grownProcesses(events, named, origin) : named;
  const guests = new Set([
    ...findings.map((finding) => finding.host.name),
    ...events.map((event) => event.guest),
  ]);
  const eventSection = events.length
    ? markup`<section id="events"><h2>Events <span class="muted">${events.length}, oldest first; times from ${new Date(origin).toISOString()}</span></h2>${renderEventList(events, origin)}</section>`
    : '';
  return markup`${pageHead(model.title)}
<body>
<header><h1>${model.title}</h1><p class="muted">generated ${model.generated} by Ringside from ${model.source}</p>
<nav><a href="#timeline">timeline</a> <a href="#processes">processes</a>${events.length ? markup` <a href="#events">events</a>` : ''} <a href="#findings">findings</a></nav></header>
${warnings}
<section id="timeline"><h2>Timeline <span class="muted">${findings.length} findings, ${events.length} events, ${guests.size} guest(s)</span></h2>${renderTimeline(model.findings)}
${events.length ? renderZoomableTimeline(findings, events, origin) : ''}</section>
<section id="processes"><h2>${events.length ? 'Processes as they were started' : 'Processes named by findings'} <span class="muted">${processes.length}</span></h2>
<div class="tree">${renderProcesses(processes, findings)}</div></section>
${eventSection}
<section id="findings"><h2>Findings</h2>${findings.map(renderFinding)}</section>
${pageEnd()}`.text;
}
