// The report page's own stylesheet and script, inlined into every report (no file to fetch). The
// page's Content-Security-Policy allows exactly these two by their SHA-256 hashes.

export const REPORT_STYLE = `
:root { --bg:#fff; --fg:#1d2330; --muted:#6b7280; --line:#e5e7eb; --critical:#7f1d1d; --high:#dc2626;
  --medium:#d97706; --low:#2563eb; --informational:#6b7280; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); margin: 0 auto; padding: 0 1.5rem 4rem; max-width: 1200px; }
header { border-bottom: 1px solid var(--line); margin-bottom: 1rem; }
nav a { margin-right: 1rem; }
h1 { font-size: 1.4rem; margin: 1rem 0 0.2rem; word-break: break-all; }
h2 { font-size: 1.15rem; margin: 1.8rem 0 0.6rem; }
code, pre { font: 12.5px/1.4 ui-monospace, monospace; }
pre { background: #f6f8fa; padding: 0.5rem; overflow-x: auto; margin: 0.2rem 0; white-space: pre-wrap; word-break: break-all; }
.muted { color: var(--muted); font-weight: normal; }
table.kv th { text-align: left; padding-right: 1rem; vertical-align: top; color: var(--muted); font-weight: 500; white-space: nowrap; }
table.kv td { word-break: break-all; }
table.grid { border-collapse: collapse; }
table.grid th, table.grid td { border-bottom: 1px solid var(--line); padding: 0.2rem 0.8rem 0.2rem 0; text-align: left; }
.badge { display: inline-block; border-radius: 3px; padding: 0 0.35rem; font-size: 12px; color: #fff; background: var(--muted); margin-left: 0.2rem; text-decoration: none; }
.sev-critical .sev, .badge.sev-critical { background: var(--critical); }
.sev-high .sev, .badge.sev-high { background: var(--high); }
.sev-medium .sev, .badge.sev-medium { background: var(--medium); }
.sev-low .sev, .badge.sev-low { background: var(--low); }
.sev-informational .sev, .badge.sev-informational { background: var(--informational); }
.sev { color: #fff; border-radius: 3px; padding: 0 0.4rem; text-transform: uppercase; font-size: 11px; font-weight: 700; }
details.finding { border: 1px solid var(--line); border-left-width: 5px; border-radius: 4px; margin: 0.4rem 0; }
details.finding.sev-critical { border-left-color: var(--critical); }
details.finding.sev-high { border-left-color: var(--high); }
details.finding.sev-medium { border-left-color: var(--medium); }
details.finding.sev-low { border-left-color: var(--low); }
details.finding > summary { cursor: pointer; padding: 0.4rem 0.6rem; }
.finding-body { padding: 0 0.8rem 0.6rem; }
.rule-id { font-family: ui-monospace, monospace; font-size: 12.5px; }
.event { border-top: 1px dashed var(--line); margin-top: 0.5rem; padding-top: 0.4rem; }
.event-head { font-weight: 600; margin-bottom: 0.2rem; }
code.before { background: #fee2e2; } code.after { background: #dcfce7; }
.attack { margin-right: 0.6rem; }
.tree { font-size: 13px; }
.tree details > summary { cursor: pointer; list-style: revert; }
.tree .kids { margin-left: 1.1rem; border-left: 1px dotted #cbd5e1; padding-left: 0.5rem; }
.tree .leaf { margin-left: 1.05rem; }
.proc .comm { font-weight: 600; }
.proc .pid { font-family: ui-monospace, monospace; }
.proc.kthread .comm { color: var(--muted); font-weight: normal; }
.proc.flagged { background: #fef3c7; outline: 1px solid #f59e0b; border-radius: 3px; padding: 0 0.2rem; }
.proc.hidden { background: #fee2e2; outline: 1px dashed #dc2626; border-radius: 3px; padding: 0 0.2rem; }
.badge.hidden-badge { background: #991b1b; }
code.exe { color: #374151; }
.map { display: flex; flex-wrap: wrap; gap: 1px; max-width: 960px; }
.map .cell { width: 9px; height: 9px; background: #86efac; }
.map .cell.bad { background: #dc2626; outline: 1px solid #7f1d1d; }
.map .cell.bad.loc-elsewhere { background: #111827; }
tr.bad td { color: #991b1b; }
.warnings { background: #fffbeb; border: 1px solid #fcd34d; padding: 0.2rem 0.8rem; margin-top: 0.8rem; }
.focus { box-shadow: 0 0 0 3px #3b82f6; }
.timeline .lane { display: flex; align-items: center; gap: 0.6rem; margin: 0.3rem 0; }
.lane-name { width: 12rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.lane-marks { position: relative; flex: 1; height: 16px; background: #f3f4f6; border-radius: 3px; }
.mark { position: absolute; top: 0; width: 6px; height: 16px; margin-left: -3px; background: var(--muted); }
.mark.sev-critical { background: var(--critical); } .mark.sev-high { background: var(--high); }
.mark.sev-medium { background: var(--medium); } .mark.sev-low { background: var(--low); }
`;

/**
 * Following a link to a finding or a process opens every collapsed <details> around it and marks it;
 * so does opening the page at such a #fragment. Timeline marks are placed from their data-slot.
 */
export const REPORT_SCRIPT = `
(function () {
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    if (!id) return;
    var target = document.getElementById(id);
    if (!target) return;
    for (var node = target; node; node = node.parentElement)
      if (node.tagName === 'DETAILS') node.open = true;
    var old = document.querySelectorAll('.focus');
    for (var i = 0; i < old.length; i++) old[i].classList.remove('focus');
    target.classList.add('focus');
    target.scrollIntoView({ block: 'center' });
  }
  var marks = document.querySelectorAll('.mark[data-slot]');
  for (var m = 0; m < marks.length; m++)
    marks[m].style.left = Math.max(0, Math.min(100, Number(marks[m].getAttribute('data-slot')))) + '%';
  window.addEventListener('hashchange', reveal);
  reveal();
})();
`;
