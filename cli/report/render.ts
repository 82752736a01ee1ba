// Renders a report model as one self-contained HTML page: inline style and script (allowed by their
// hashes in a Content-Security-Policy that forbids every fetch), guest strings escaped by `markup`.
import { createHash } from 'node:crypto';
import type { VmiEvent } from '../../introspect/events/event.js';
import { SEVERITIES, type Finding } from '../../introspect/events/finding.js';
import { markup, trusted, type Html, type HtmlChild } from './html.js';
import type { ReportEntry, ReportModel, ReportProcess } from './model.js';
import { REPORT_SCRIPT, REPORT_STYLE } from './assets.js';
import {
  findingAnchor,
  findingPids,
  processAnchor,
  processChildren,
  TREE_MAX_DEPTH,
} from './links.js';
import { renderVirtualTree, VIRTUAL_TREE_THRESHOLD } from './virtual.js';

export { findingAnchor, findingPids, processAnchor, processChildren, TREE_MAX_DEPTH };

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64');

/** The page's policy: nothing from the network, only this page's own style and script. */
export const contentSecurityPolicy = (): string =>
  [
    "default-src 'none'",
    `style-src 'sha256-${sha256(REPORT_STYLE)}'`,
    `script-src 'sha256-${sha256(REPORT_SCRIPT)}'`,
    "img-src 'none'",
    "connect-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');

const ATTACK_ID = /^T\d{4}(?:\.\d{3})?$/;

/** Findings, most severe first (then oldest first). */
export function bySeverity(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity) ||
      a.timestamp.localeCompare(b.timestamp),
  );
}

function plain(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, item: unknown) => (typeof item === 'bigint' ? `0x${item.toString(16)}` : item),
    2,
  );
}

function processCell(p: NonNullable<VmiEvent['process']>): Html {
  const name =
    p.pid !== undefined
      ? markup`<a href="#${processAnchor(p.pid)}">${p.name ?? '?'} (${p.pid})</a>`
      : (p.name ?? '?');
  const exe = p.executable ? markup` <code>${p.executable}</code>` : '';
  const parent = p.parent?.name ? ` · parent ${p.parent.name} (${p.parent.pid ?? '?'})` : '';
  return markup`${name}${exe}${parent}`;
}

function eventEvidence(event: VmiEvent): Html {
  const rows: [string, HtmlChild][] = [];
  const p = event.process;
  if (p) rows.push(['process', processCell(p)]);
  if (p?.command_line) rows.push(['command line', markup`<code>${p.command_line}</code>`]);
  if (event.user?.effective_id !== undefined)
    rows.push(['user', `uid ${event.user.id ?? '?'}, euid ${event.user.effective_id}`]);
  const v = event.vmi;
  if (v) {
    if (v.symbol) rows.push(['symbol', markup`<code>${v.symbol}</code>`]);
    for (const [label, value] of [
      ['gva', v.gva],
      ['gpa', v.gpa],
      ['rip', v.rip],
    ] as const)
      if (value !== undefined) rows.push([label, markup`<code>${value}</code>`]);
    if (v.hook) rows.push(['hook', v.hook]);
    if (v.register) rows.push(['register', v.register]);
    if (v.old_value !== undefined || v.new_value !== undefined)
      rows.push([
        'before → after',
        markup`<code class="before">${v.old_value ?? '?'}</code> → <code class="after">${v.new_value ?? '?'}</code>`,
      ]);
    if (v.data) rows.push(['bytes', markup`<code class="bytes">${v.data}</code>`]);
    if (v.disassembly) rows.push(['disassembly', markup`<pre class="asm">${v.disassembly}</pre>`]);
  }
  const m = event.module;
  if (m?.name) {
    const hash = m.sha256 ? markup`, sha256 <code>${m.sha256}</code>` : '';
    rows.push([
      'module',
      markup`${m.name} at <code>${m.base ?? '?'}</code>, ${m.size ?? '?'} bytes${hash}`,
    ]);
  }
  const n = event.network;
  if (n?.destination_ip)
    rows.push(['connection', `${n.destination_ip}:${n.destination_port ?? '?'}`]);
  const details = (event as { details?: unknown }).details;
  if (details !== undefined)
    rows.push(['details', markup`<pre class="details">${plain(details)}</pre>`]);
  const vcpu = event.vcpu !== undefined ? ` · vCPU ${event.vcpu}` : '';
  return markup`<div class="event"><div class="event-head">${event.type} · ${event.timestamp ?? ''}${vcpu}</div>
<table class="kv">${rows.map(([label, value]) => markup`<tr><th>${label}</th><td>${value}</td></tr>`)}</table></div>`;
}

function attackLink(technique: Finding['mitre'][number]): Html {
  const label = `${technique.id}${technique.name ? ` ${technique.name}` : ''}`;
  if (!ATTACK_ID.test(technique.id)) return markup`<span class="attack">${label}</span>`;
  const url = `https://attack.mitre.org/techniques/${technique.id.replace('.', '/')}/`;
  return markup`<a class="attack" href="${url}" rel="noreferrer noopener" target="_blank">${label}</a>`;
}

export function renderFinding(finding: Finding): Html {
  const mitre = finding.mitre.map(attackLink);
  const pids = findingPids(finding);
  const rule = finding.rule;
  const description = rule.description ? markup`<div class="muted">${rule.description}</div>` : '';
  return markup`<details class="finding sev-${finding.severity}" id="${findingAnchor(finding)}">
<summary><span class="sev">${finding.severity}</span> <span class="rule-id">${rule.id}</span> ${finding.message}</summary>
<div class="finding-body">
<table class="kv">
<tr><th>rule</th><td>${rule.name}${rule.ruleset ? ` (${rule.ruleset})` : ''}${description}</td></tr>
<tr><th>guest</th><td>${finding.host.name}</td></tr>
<tr><th>time</th><td>${finding.timestamp}</td></tr>
${mitre.length ? markup`<tr><th>ATT&amp;CK</th><td>${mitre}</td></tr>` : ''}
${pids.length ? markup`<tr><th>processes</th><td>${pids.map((pid) => markup`<a class="proc-link" href="#${processAnchor(pid)}">pid ${pid}</a> `)}</td></tr>` : ''}
<tr><th>finding id</th><td><code>${finding.id}</code></td></tr>
</table>
${finding.events.map(eventEvidence)}
${finding.evidence ? markup`<div class="event"><div class="event-head">evidence</div><pre class="details">${plain(finding.evidence)}</pre></div>` : ''}
</div></details>`;
}

function processLine(process: ReportProcess, findings: readonly Finding[]): Html {
  const classes = [
    'proc',
    ...(findings.length ? ['flagged'] : []),
    ...(process.hidden ? ['hidden'] : []),
    ...(process.kernelThread ? ['kthread'] : []),
  ].join(' ');
  const exe = process.executable ? markup` <code class="exe">${process.executable}</code>` : '';
  const hidden = process.hidden
    ? markup` <span class="badge hidden-badge" title="the views that do not see this task">hidden: missed by ${process.missingFrom.join(', ')}</span>`
    : '';
  const links = findings.map(
    (finding) =>
      markup` <a class="badge sev-${finding.severity}" href="#${findingAnchor(finding)}">${finding.rule.id}</a>`,
  );
  return markup`<span class="${classes}" id="${processAnchor(process.pid)}"><span class="comm">${process.comm}</span> <span class="pid">${process.pid}</span> <span class="muted">uid ${process.uid < 0 ? '?' : process.uid} · ${process.start.toFixed(2)} s</span>${exe}${hidden}${links}</span>`;
}

/**
 * The process tree as nested <details>, built without recursion: parent links are guest data, so a
 * chain as deep as the process list must not overflow the stack, and a parent cycle must not loop.
 */
export function renderTree(
  processes: readonly ReportProcess[],
  findings: readonly Finding[],
): Html {
  const children = processChildren(processes);
  const byPid = new Map<number, Finding[]>();
  for (const finding of findings)
    for (const pid of findingPids(finding)) {
      let list = byPid.get(pid);
      if (!list) byPid.set(pid, (list = []));
      list.push(finding);
    }
  const out: string[] = [];
  const seen = new Set<number>();
  type Step = { process: ReportProcess; depth: number } | { close: true };
  const draw = (root: ReportProcess) => {
    const stack: Step[] = [{ process: root, depth: 0 }];
    while (stack.length > 0) {
      const step = stack.pop()!;
      if ('close' in step) {
        out.push('</div></details>');
        continue;
      }
      const { process, depth } = step;
      if (seen.has(process.pid)) continue;
      seen.add(process.pid);
      const line = processLine(process, byPid.get(process.pid) ?? []).text;
      const kids = (children.get(process.pid) ?? []).filter((kid) => !seen.has(kid.pid));
      if (kids.length === 0) {
        out.push(`<div class="leaf">${line}</div>`);
        continue;
      }
      const nest = depth < TREE_MAX_DEPTH;
      if (nest) {
        // Kernel threads (kthreadd's children) start folded: the user-space tree is what is read.
        const open = process.kernelThread ? '' : ' open';
        out.push(`<details${open} class="node"><summary>${line}</summary><div class="kids">`);
        stack.push({ close: true });
      } else out.push(`<div class="leaf">${line}</div>`);
      for (let index = kids.length - 1; index >= 0; index--)
        stack.push({ process: kids[index]!, depth: nest ? depth + 1 : depth });
    }
  };
  for (const root of children.get(0) ?? []) draw(root);
  for (const process of processes) if (!seen.has(process.pid)) draw(process);
  return trusted(out.join('\n'));
}

/** The tree as nested <details>, or for a large one, drawn by the page a screenful at a time. */
export const renderProcesses = (
  processes: readonly ReportProcess[],
  findings: readonly Finding[],
): Html =>
  processes.length > VIRTUAL_TREE_THRESHOLD
    ? renderVirtualTree(processes, findings)
    : renderTree(processes, findings);

function renderMap(title: string, entries: readonly ReportEntry[], id: string): Html {
  const marked = entries.filter((entry) => entry.suspicious);
  const cells = entries.map((entry) => {
    const kind = entry.suspicious ? `bad loc-${entry.location}` : 'ok';
    const label = `${entry.index}: ${entry.symbol ?? entry.module ?? entry.target} (${entry.location})`;
    return markup`<span class="cell ${kind}" title="${label}" data-index="${entry.index}"></span>`;
  });
  const rows = marked.map(
    (entry) =>
      markup`<tr class="bad"><td>${entry.index}</td><td><code>${entry.target}</code></td><td>${entry.symbol ?? ''}</td><td>${entry.location}${entry.module ? ` (${entry.module})` : ''}</td></tr>`,
  );
  const list = marked.length
    ? markup`<table class="grid marked"><tr><th>#</th><th>target</th><th>symbol</th><th>where</th></tr>${rows}</table>`
    : markup`<p class="muted">every entry points into the kernel's text</p>`;
  return markup`<section id="${id}"><h2>${title} <span class="muted">${entries.length} entries, ${marked.length} marked</span></h2>
<div class="map">${cells}</div>
${list}</section>`;
}

/** The page's <head>: the policy, the title and the stylesheet (byte for byte what the hash allows). */
export function pageHead(title: string): Html {
  return markup`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy()}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
${trusted(`<style>${REPORT_STYLE}</style>`)}</head>`;
}

/** The end of the page: the script (byte for byte what the hash allows). */
export const pageEnd = (): Html => trusted(`<script>${REPORT_SCRIPT}</script>\n</body></html>\n`);

/** The whole snapshot report. */
export function renderReport(model: ReportModel): string {
  const findings = bySeverity(model.findings);
  const counts = [...SEVERITIES]
    .reverse()
    .map((severity) => [severity, findings.filter((f) => f.severity === severity).length] as const)
    .filter(([, count]) => count > 0);
  const warnings = model.warnings.length
    ? markup`<div class="warnings"><h3>Partial answers</h3><ul>${model.warnings.map((warning) => markup`<li>${warning}</li>`)}</ul></div>`
    : '';
  const hidden = model.processes.filter((p) => p.hidden).length;
  const page = markup`${pageHead(model.title)}
<body>
<header><h1>${model.title}</h1><p class="muted">generated ${model.generated} by Ringside</p>
<nav><a href="#facts">guest</a> <a href="#findings">findings</a> <a href="#processes">processes</a> <a href="#modules">modules</a> <a href="#syscalls">syscall table</a> <a href="#idt">IDT</a></nav></header>
<section id="facts"><h2>Guest</h2><table class="kv">${model.facts.map(([label, value]) => markup`<tr><th>${label}</th><td>${value}</td></tr>`)}</table>
${warnings}</section>
<section id="findings"><h2>Findings <span class="muted">${counts.map(([severity, count]) => markup`<span class="badge sev-${severity}">${count} ${severity}</span> `)}</span></h2>
${findings.length ? findings.map(renderFinding) : markup`<p class="muted">no finding</p>`}</section>
<section id="processes"><h2>Processes <span class="muted">${model.processes.length}, ${hidden} hidden</span></h2>
<div class="tree">${renderProcesses(model.processes, findings)}</div></section>
<section id="modules"><h2>Modules <span class="muted">${model.modules.length}</span></h2>
<table class="grid"><tr><th>name</th><th>base</th><th>size</th><th>state</th><th>taints</th><th>signature</th></tr>${model.modules.map((module) => markup`<tr${module.taints || module.signature === 'unsigned' ? markup` class="flagged"` : ''}><td>${module.name}</td><td><code>${module.base}</code></td><td>${module.size}</td><td>${module.state}</td><td><code>${module.taints || '—'}</code></td><td>${module.signature}</td></tr>`)}</table>
<p class="muted">taints as /proc/modules prints them: O out-of-tree, E unsigned, P proprietary, F forced …; signature: the kernel's own check when it loaded the module (sig_ok).</p></section>
${renderMap('System call table', model.syscalls, 'syscalls')}
${renderMap('Interrupt descriptor table', model.idt, 'idt')}
${pageEnd()}`;
  return page.text;
}
