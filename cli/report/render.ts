// Renders a report model as one self-contained HTML page: inline style and script (allowed by their
// hashes in a Content-Security-Policy that forbids every fetch), guest strings escaped by `html`.
import { createHash } from 'node:crypto';
import type { VmiEvent } from '../../introspect/events/event.js';
import { SEVERITIES, type Finding } from '../../introspect/events/finding.js';
import { anchorId, html, trusted, type Html, type HtmlChild } from './html.js';
import type { ReportEntry, ReportModel, ReportProcess } from './model.js';
import { REPORT_SCRIPT, REPORT_STYLE } from './assets.js';

/** Levels of nesting drawn; a deeper (hostile) parent chain is listed flat under the last level. */
export const TREE_MAX_DEPTH = 48;

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

/** The pids a finding is about: those of its events' processes. */
export function findingPids(finding: Finding): number[] {
  const pids = new Set<number>();
  for (const event of finding.events)
    if (event.process?.pid !== undefined) pids.add(event.process.pid);
  return [...pids];
}

/** Findings, most severe first (then oldest first). */
export function bySeverity(findings: readonly Finding[]): Finding[] {
  return [...findings].sort(
    (a, b) =>
      SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity) ||
      a.timestamp.localeCompare(b.timestamp),
  );
}

const findingAnchor = (finding: Finding) => anchorId('finding', finding.id);
const processAnchor = (pid: number) => anchorId('proc', pid);

function plain(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, item: unknown) => (typeof item === 'bigint' ? `0x${item.toString(16)}` : item),
    2,
  );
}

function eventEvidence(event: VmiEvent): Html {
  const rows: [string, HtmlChild][] = [];
  const p = event.process;
  if (p)
    rows.push([
      'process',
      html`${p.pid !== undefined ? html`<a href="#${processAnchor(p.pid)}">${p.name ?? '?'} (${p.pid})</a>` : (p.name ?? '?')}${p.executable ? html` <code>${p.executable}</code>` : ''}${p.parent?.name ? ` · parent ${p.parent.name} (${p.parent.pid ?? '?'})` : ''}`,
    ]);
  if (p?.command_line) rows.push(['command line', html`<code>${p.command_line}</code>`]);
  if (event.user?.effective_id !== undefined)
    rows.push(['user', `uid ${event.user.id ?? '?'}, euid ${event.user.effective_id}`]);
  const v = event.vmi;
  if (v) {
    if (v.symbol) rows.push(['symbol', html`<code>${v.symbol}</code>`]);
    for (const [label, value] of [
      ['gva', v.gva],
      ['gpa', v.gpa],
      ['rip', v.rip],
    ] as const)
      if (value !== undefined) rows.push([label, html`<code>${value}</code>`]);
    if (v.hook) rows.push(['hook', v.hook]);
    if (v.register) rows.push(['register', v.register]);
    if (v.old_value !== undefined || v.new_value !== undefined)
      rows.push([
        'before → after',
        html`<code class="before">${v.old_value ?? '?'}</code> →
          <code class="after">${v.new_value ?? '?'}</code>`,
      ]);
    if (v.data) rows.push(['bytes', html`<code class="bytes">${v.data}</code>`]);
    if (v.disassembly) rows.push(['disassembly', html`<pre class="asm">${v.disassembly}</pre>`]);
  }
  const m = event.module;
  if (m?.name)
    rows.push([
      'module',
      html`${m.name} at <code>${m.base ?? '?'}</code>, ${m.size ?? '?'}
        bytes${m.sha256 ? html`, sha256 <code>${m.sha256}</code>` : ''}`,
    ]);
  const n = event.network;
  if (n?.destination_ip)
    rows.push(['connection', `${n.destination_ip}:${n.destination_port ?? '?'}`]);
  const details = (event as { details?: unknown }).details;
  if (details !== undefined)
    rows.push(['details', html`<pre class="details">${plain(details)}</pre>`]);
  return html`<div class="event">
    <div class="event-head">
      ${event.type} ·
      ${event.timestamp ?? ''}${event.vcpu !== undefined ? ` · vCPU ${event.vcpu}` : ''}
    </div>
    <table class="kv">
      ${rows.map(
        ([label, value]) =>
          html`<tr>
            <th>${label}</th>
            <td>${value}</td>
          </tr>`,
      )}
    </table>
  </div>`;
}

function renderFinding(finding: Finding): Html {
  const mitre = finding.mitre.map((technique) =>
    ATTACK_ID.test(technique.id)
      ? html`<a
          class="attack"
          href="https://attack.mitre.org/techniques/${technique.id.replace('.', '/')}/"
          rel="noreferrer noopener"
          target="_blank"
          >${technique.id}${technique.name ? ` ${technique.name}` : ''}</a
        >`
      : html`<span class="attack">${technique.id}</span>`,
  );
  const pids = findingPids(finding);
  return html`<details class="finding sev-${finding.severity}" id="${findingAnchor(finding)}">
    <summary>
      <span class="sev">${finding.severity}</span>
      <span class="rule-id">${finding.rule.id}</span> ${finding.message}
    </summary>
    <div class="finding-body">
      <table class="kv">
        <tr>
          <th>rule</th>
          <td>
            ${finding.rule.name}${finding.rule.ruleset ? ` (${finding.rule.ruleset})` : ''}${finding.rule.description ? html`<div class="muted">${finding.rule.description}</div>` : ''}
          </td>
        </tr>
        <tr>
          <th>guest</th>
          <td>${finding.host.name}</td>
        </tr>
        <tr>
          <th>time</th>
          <td>${finding.timestamp}</td>
        </tr>
        ${
          mitre.length
            ? html`<tr>
                <th>ATT&amp;CK</th>
                <td>${mitre}</td>
              </tr>`
            : ''
        }
        ${
          pids.length
            ? html`<tr>
                <th>processes</th>
                <td>
                  ${pids.map((pid) => html`<a class="proc-link" href="#${processAnchor(pid)}">pid ${pid}</a> `)}
                </td>
              </tr>`
            : ''
        }
        <tr>
          <th>finding id</th>
          <td><code>${finding.id}</code></td>
        </tr>
      </table>
      ${finding.events.map(eventEvidence)}
      ${
        finding.evidence
          ? html`<div class="event">
              <div class="event-head">evidence</div>
              <pre class="details">${plain(finding.evidence)}</pre>
            </div>`
          : ''
      }
    </div>
  </details>`;
}

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

function processLine(process: ReportProcess, findings: readonly Finding[]): Html {
  return html`<span
    class="proc${findings.length ? ' flagged' : ''}${process.hidden ? ' hidden' : ''}${process.kernelThread ? ' kthread' : ''}"
    id="${processAnchor(process.pid)}"
    ><span class="comm">${process.comm}</span> <span class="pid">${process.pid}</span>
    <span class="muted">uid ${process.uid} · ${process.start.toFixed(2)} s</span
    >${process.executable ? html` <code class="exe">${process.executable}</code>` : ''}${process.hidden ? html` <span class="badge hidden-badge" title="the views that do not see this task">hidden: missed by ${process.missingFrom.join(', ')}</span>` : ''}${findings.map((finding) => html` <a class="badge sev-${finding.severity}" href="#${findingAnchor(finding)}">${finding.rule.id}</a>`)}</span
  >`;
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
        // Kernel threads (kthreadd's children) start folded: the user-space tree is what is looked at.
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

function renderMap(title: string, entries: readonly ReportEntry[], id: string): Html {
  const marked = entries.filter((entry) => entry.suspicious);
  return html`<section id="${id}">
    <h2>${title} <span class="muted">${entries.length} entries, ${marked.length} marked</span></h2>
    <div class="map">
      ${entries.map(
        (entry) =>
          html`<span
            class="cell ${entry.suspicious ? `bad loc-${entry.location}` : 'ok'}"
            title="${entry.index}: ${entry.symbol ?? entry.module ?? entry.target} (${entry.location})"
            data-index="${entry.index}"
          ></span>`,
      )}
    </div>
    ${
      marked.length
        ? html`<table class="grid marked">
            <tr>
              <th>#</th>
              <th>target</th>
              <th>symbol</th>
              <th>where</th>
            </tr>
            ${marked.map(
              (entry) =>
                html`<tr class="bad">
                  <td>${entry.index}</td>
                  <td><code>${entry.target}</code></td>
                  <td>${entry.symbol ?? ''}</td>
                  <td>${entry.location}${entry.module ? ` (${entry.module})` : ''}</td>
                </tr>`,
            )}
          </table>`
        : html`<p class="muted">every entry points into the kernel's text</p>`
    }
  </section>`;
}

/** The whole page. */
export function renderReport(model: ReportModel): string {
  const findings = bySeverity(model.findings);
  const counts = SEVERITIES.slice()
    .reverse()
    .map((severity) => [severity, findings.filter((f) => f.severity === severity).length] as const)
    .filter(([, count]) => count > 0);
  const page = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy()}" />
        <meta name="referrer" content="no-referrer" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${model.title}</title>
        <style>
          ${trusted(REPORT_STYLE)}
        </style>
      </head>
      <body>
        <header>
          <h1>${model.title}</h1>
          <p class="muted">generated ${model.generated} by Ringside</p>
          <nav>
            <a href="#facts">guest</a> <a href="#findings">findings</a>
            <a href="#processes">processes</a> <a href="#modules">modules</a>
            <a href="#syscalls">syscall table</a> <a href="#idt">IDT</a>
          </nav>
        </header>
        <section id="facts">
          <h2>Guest</h2>
          <table class="kv">
            ${model.facts.map(
              ([label, value]) =>
                html`<tr>
                  <th>${label}</th>
                  <td>${value}</td>
                </tr>`,
            )}
          </table>
          ${
            model.warnings.length
              ? html`<div class="warnings">
                  <h3>Partial answers</h3>
                  <ul>
                    ${model.warnings.map((warning) => html`<li>${warning}</li>`)}
                  </ul>
                </div>`
              : ''
          }
        </section>
        <section id="findings">
          <h2>
            Findings
            <span class="muted"
              >${counts.map(([severity, count]) => html`<span class="badge sev-${severity}">${count} ${severity}</span> `)}</span
            >
          </h2>
          ${findings.length ? findings.map(renderFinding) : html`<p class="muted">no finding</p>`}
        </section>
        <section id="processes">
          <h2>
            Processes
            <span class="muted"
              >${model.processes.length}, ${model.processes.filter((p) => p.hidden).length}
              hidden</span
            >
          </h2>
          <div class="tree">${renderTree(model.processes, findings)}</div>
        </section>
        <section id="modules">
          <h2>Modules <span class="muted">${model.modules.length}</span></h2>
          <table class="grid">
            <tr>
              <th>name</th>
              <th>base</th>
              <th>size</th>
              <th>state</th>
            </tr>
            ${model.modules.map(
              (module) =>
                html`<tr>
                  <td>${module.name}</td>
                  <td><code>${module.base}</code></td>
                  <td>${module.size}</td>
                  <td>${module.state}</td>
                </tr>`,
            )}
          </table>
        </section>
        ${renderMap('System call table', model.syscalls, 'syscalls')}
        ${renderMap('Interrupt descriptor table', model.idt, 'idt')}
        <script>
          ${trusted(REPORT_SCRIPT)};
        </script>
      </body>
    </html> `;
  return page.text;
}
