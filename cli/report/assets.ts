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
.grid tr.flagged td { background: #fef3c7; }
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
.vlist { position: relative; height: 60vh; min-height: 240px; overflow: auto; border: 1px solid var(--line); border-radius: 4px; font-size: 13px; }
.vlist .vspace { position: relative; }
.vrow { position: absolute; left: 0; right: 0; height: 20px; line-height: 20px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; padding-left: 0.4rem; }
.vrow .fold { display: inline-block; width: 1.1rem; cursor: pointer; color: var(--muted); }
.vevents .vrow span { margin-right: 0.8rem; }
.vevents .vrow .etype { display: inline-block; width: 9rem; }
.vevents .vrow .etime { font-family: ui-monospace, monospace; }
.ztimeline { margin: 0.6rem 0; }
.zlane { display: flex; align-items: center; gap: 0.6rem; margin: 0.2rem 0; }
.zcanvas { flex: 1; height: 28px; background: #f3f4f6; border-radius: 3px; cursor: crosshair; }
.zcontrols button { font: inherit; padding: 0 0.5rem; }
details.finding { content-visibility: auto; contain-intrinsic-size: auto 2.4em; }
`;

/**
 * Following a link to a finding or a process opens every collapsed <details> around it and marks it;
 * so does opening the page at such a #fragment. Timeline marks are placed from their data-slot. A
 * large tree and the event list are drawn a screenful at a time from their JSON blocks (textContent
 * only: guest strings never become markup), and the zoomable timeline is drawn on canvases.
 */
export const REPORT_SCRIPT = `
(function () {
  var ROW = 20;
  function data(id) {
    var block = document.getElementById(id);
    return block ? JSON.parse(block.textContent) : null;
  }
  function span(cls, text) {
    var element = document.createElement('span');
    if (cls) element.className = cls;
    element.textContent = text;
    return element;
  }
  // A list of any length with only the rows in view in the DOM: rows are absolutely placed in a
  // spacer as tall as the whole list, and redrawn on scroll.
  function virtualList(box, count, draw) {
    var space = box.querySelector('.vspace');
    var list = { count: count, first: -1, last: -1 };
    function paint(force) {
      var first = Math.max(0, Math.floor(box.scrollTop / ROW) - 5);
      var last = Math.min(list.count, Math.ceil((box.scrollTop + box.clientHeight) / ROW) + 5);
      if (!force && first === list.first && last === list.last) return;
      list.first = first;
      list.last = last;
      space.style.height = list.count * ROW + 'px';
      space.textContent = '';
      for (var i = first; i < last; i++) {
        var row = draw(i);
        row.classList.add('vrow');
        row.style.top = i * ROW + 'px';
        space.appendChild(row);
      }
    }
    var queued = false;
    box.addEventListener('scroll', function () {
      if (queued) return;
      queued = true;
      requestAnimationFrame(function () {
        queued = false;
        paint(false);
      });
    });
    list.paint = paint;
    list.show = function (index) {
      box.scrollTop = Math.max(0, index * ROW - box.clientHeight / 2);
      paint(true);
    };
    paint(true);
    return list;
  }
  var tree = null;
  function setupTree() {
    var box = document.querySelector('.vtree');
    if (!box) return;
    var rows = data(box.getAttribute('data-rows'));
    var folded = new Uint8Array(rows.length);
    // Kernel threads start folded, as in the static tree.
    for (var i = 0; i < rows.length; i++) if (rows[i][6] & 4 && rows[i][9] > 0) folded[i] = 1;
    var shown = [];
    // The row a #proc link marked: redrawn rows keep the mark.
    var focusPid = -1;
    function recompute() {
      shown = [];
      var skip = -1;
      for (var i = 0; i < rows.length; i++) {
        if (skip >= 0 && rows[i][0] > skip) continue;
        skip = -1;
        shown.push(i);
        if (folded[i]) skip = rows[i][0];
      }
    }
    recompute();
    function draw(position) {
      var index = shown[position];
      var r = rows[index];
      var row = document.createElement('div');
      row.id = 'proc-' + r[1];
      row.className = 'proc' + (r[6] & 1 ? ' flagged' : '') + (r[6] & 2 ? ' hidden' : '') + (r[6] & 4 ? ' kthread' : '') + (r[1] === focusPid ? ' focus' : '');
      row.style.paddingLeft = 0.4 + r[0] * 1.1 + 'rem';
      var fold = span('fold', r[9] > 0 ? (folded[index] ? '▸' : '▾') : '');
      fold.setAttribute('data-index', String(index));
      row.appendChild(fold);
      row.appendChild(span('comm', r[2]));
      row.appendChild(document.createTextNode(' '));
      row.appendChild(span('pid', String(r[1])));
      row.appendChild(span('muted', ' uid ' + (r[3] < 0 ? '?' : r[3]) + ' · ' + r[4].toFixed(2) + ' s '));
      if (r[5]) row.appendChild(span('exe', r[5]));
      if (r[6] & 2) row.appendChild(span('badge hidden-badge', 'hidden: missed by ' + r[8]));
      for (var b = 0; b < r[7].length; b++) {
        var link = document.createElement('a');
        link.className = 'badge sev-' + r[7][b][1];
        link.href = '#' + r[7][b][0];
        link.textContent = r[7][b][2];
        row.appendChild(link);
      }
      return row;
    }
    var list = virtualList(box, shown.length, draw);
    box.addEventListener('click', function (event) {
      var index = event.target.getAttribute && event.target.getAttribute('data-index');
      if (index === null || index === undefined || index === '') return;
      folded[Number(index)] ^= 1;
      recompute();
      list.count = shown.length;
      list.paint(true);
    });
    tree = {
      reveal: function (pid) {
        for (var i = 0; i < rows.length; i++) {
          if (rows[i][1] !== pid) continue;
          focusPid = pid;
          // Unfold every ancestor: the nearest earlier row of each smaller depth.
          for (var j = i - 1, depth = rows[i][0]; j >= 0 && depth > 0; j--)
            if (rows[j][0] < depth) {
              folded[j] = 0;
              depth = rows[j][0];
            }
          recompute();
          list.count = shown.length;
          list.show(shown.indexOf(i));
          return document.getElementById('proc-' + pid);
        }
        return null;
      },
    };
  }
  var events = null;
  function setupEvents() {
    var box = document.querySelector('.vevents');
    if (!box) return;
    var source = data(box.getAttribute('data-rows'));
    var rows = source.rows;
    function draw(index) {
      var r = rows[index];
      var row = document.createElement('div');
      row.appendChild(span('etime', new Date(source.origin + r[0]).toISOString().slice(11, 23)));
      row.appendChild(span('muted', source.guests[r[1]]));
      row.appendChild(span('etype', r[2]));
      if (r[3] >= 0) {
        var link = document.createElement('a');
        link.href = '#proc-' + r[3];
        link.textContent = r[4] + ' (' + r[3] + ')';
        row.appendChild(link);
      }
      if (r[5]) row.appendChild(span('exe', ' ' + r[5]));
      return row;
    }
    var list = virtualList(box, rows.length, draw);
    events = {
      at: function (ms) {
        var low = 0;
        var high = rows.length;
        while (low < high) {
          var middle = (low + high) >> 1;
          if (rows[middle][0] < ms) low = middle + 1;
          else high = middle;
        }
        list.show(low);
      },
    };
  }
  var COLOURS = ['#6b7280', '#2563eb', '#d97706', '#dc2626', '#7f1d1d'];
  function setupTimeline() {
    var root = document.querySelector('.ztimeline');
    if (!root) return;
    var source = data(root.getAttribute('data-source'));
    var view = { from: 0, to: source.end };
    var canvases = root.querySelectorAll('.zcanvas');
    var range = root.querySelector('.zrange');
    function draw() {
      for (var c = 0; c < canvases.length; c++) {
        var canvas = canvases[c];
        var lane = source.lanes[Number(canvas.getAttribute('data-lane'))];
        var width = Math.max(1, canvas.clientWidth);
        canvas.width = width;
        var context = canvas.getContext('2d');
        context.clearRect(0, 0, width, 28);
        var scale = width / (view.to - view.from);
        // Event density: a count per pixel column, drawn on a log scale.
        var columns = new Uint32Array(width);
        var times = lane.events;
        for (var i = 0; i < times.length; i++) {
          var x = Math.floor((times[i] - view.from) * scale);
          if (x >= 0 && x < width) columns[x]++;
        }
        context.fillStyle = '#9ca3af';
        for (var px = 0; px < width; px++)
          if (columns[px]) {
            var h = Math.min(28, 4 + 4 * Math.log2(1 + columns[px]));
            context.fillRect(px, 28 - h, 1, h);
          }
        for (var f = 0; f < lane.findings.length; f++) {
          var mark = lane.findings[f];
          var fx = (mark[0] - view.from) * scale;
          if (fx < -3 || fx > width + 3) continue;
          context.fillStyle = COLOURS[mark[1]] || '#6b7280';
          context.fillRect(Math.round(fx) - 1, 0, 3, 28);
        }
      }
      range.textContent =
        new Date(source.origin + view.from).toISOString() + ' → ' + new Date(source.origin + view.to).toISOString();
    }
    function zoom(factor, at) {
      var span = Math.max(10, (view.to - view.from) * factor);
      var anchor = view.from + (view.to - view.from) * at;
      view.from = Math.max(0, anchor - span * at);
      view.to = Math.min(source.end, view.from + span);
      if (view.to - view.from < span) view.from = Math.max(0, view.to - span);
      draw();
    }
    root.addEventListener('click', function (event) {
      var which = event.target.getAttribute && event.target.getAttribute('data-zoom');
      if (which === 'in') zoom(0.5, 0.5);
      else if (which === 'out') zoom(2, 0.5);
      else if (which === 'reset') {
        view.from = 0;
        view.to = source.end;
        draw();
      }
    });
    var drag = null;
    for (var c = 0; c < canvases.length; c++) {
      canvases[c].addEventListener('wheel', function (event) {
        event.preventDefault();
        var box = event.target.getBoundingClientRect();
        zoom(event.deltaY < 0 ? 0.8 : 1.25, (event.clientX - box.left) / box.width);
      });
      canvases[c].addEventListener('mousedown', function (event) {
        drag = { x: event.clientX, from: view.from, to: view.to, moved: false };
      });
      canvases[c].addEventListener('click', function (event) {
        if (drag && drag.moved) return;
        var box = event.target.getBoundingClientRect();
        var at = view.from + ((event.clientX - box.left) / box.width) * (view.to - view.from);
        var lane = source.lanes[Number(event.target.getAttribute('data-lane'))];
        var tolerance = (4 / box.width) * (view.to - view.from);
        for (var f = 0; f < lane.findings.length; f++)
          if (Math.abs(lane.findings[f][0] - at) <= tolerance) {
            location.hash = '#' + lane.findings[f][2];
            return;
          }
        if (events) events.at(at);
      });
      canvases[c].addEventListener('dblclick', function () {
        view.from = 0;
        view.to = source.end;
        draw();
      });
    }
    window.addEventListener('mousemove', function (event) {
      if (!drag) return;
      var width = canvases[0].clientWidth || 1;
      var shift = ((drag.x - event.clientX) / width) * (drag.to - drag.from);
      if (Math.abs(drag.x - event.clientX) > 2) drag.moved = true;
      var span = drag.to - drag.from;
      view.from = Math.max(0, Math.min(source.end - span, drag.from + shift));
      view.to = view.from + span;
      draw();
    });
    window.addEventListener('mouseup', function () {
      setTimeout(function () {
        drag = null;
      }, 0);
    });
    window.addEventListener('resize', draw);
    draw();
  }
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    if (!id) return;
    var target = document.getElementById(id);
    if (!target && tree && /^proc-\\d+$/.test(id)) target = tree.reveal(Number(id.slice(5)));
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
  setupTree();
  setupEvents();
  setupTimeline();
  window.addEventListener('hashchange', reveal);
  reveal();
})();
`;
