// Where the report's parts meet: the anchors of findings and processes, the pids a finding is
// about, and the parent → children index the tree is drawn from (statically or by the page).
import type { Finding } from '../../introspect/events/finding.js';
import { anchorId } from './html.js';
import type { ReportProcess } from './model.js';

/** Levels of nesting drawn; a deeper (hostile) parent chain is listed flat under the last level. */
export const TREE_MAX_DEPTH = 48;

/** The pids a finding is about: those of its events' processes. */
export function findingPids(finding: Finding): number[] {
  const pids = new Set<number>();
  for (const event of finding.events)
    if (event.process?.pid !== undefined) pids.add(event.process.pid);
  return [...pids];
}

export const findingAnchor = (finding: Finding) => anchorId('finding', finding.id);
export const processAnchor = (pid: number) => anchorId('proc', pid);

/** Children of each pid, roots under 0; a parent that is missing or the process itself is a root. */
export function processChildren(processes: readonly ReportProcess[]): Map<number, ReportProcess[]> {
  const pids = new Set(processes.map((process) => process.pid));
  const children = new Map<number, ReportProcess[]>();
  for (const process of processes) {
    const parent = pids.has(process.ppid) && process.ppid !== process.pid ? process.ppid : 0;
    let siblings = children.get(parent);
    if (!siblings) children.set(parent, (siblings = []));
    siblings.push(process);
  }
  for (const siblings of children.values()) siblings.sort((a, b) => a.pid - b.pid);
  return children;
}
