// Draws a TopModel in the terminal with Ink (React for command-line apps): in the alternate screen,
// redrawn a few times a second and on resize; `q` or Ctrl-C closes it and gives the terminal back.
import { createElement as h, useEffect, useState, type ReactElement } from 'react';
import { Box, render, Text, useInput, useStdout } from 'ink';
import type { Severity } from '../../introspect/events/finding.js';
import type { FindingRow, GuestRow, TopModel, TreeRow } from './top-model.js';

/** How often the screen may be redrawn (ms): the rates move every second, events come in bursts. */
const FRAME_MS = 250;

const ENTER_ALTERNATE = '\u001b[?1049h\u001b[H';
const LEAVE_ALTERNATE = '\u001b[?1049l';
const SHOW_CURSOR = '\u001b[?25h';

const SEVERITY_COLOUR: Record<Severity, string> = {
  informational: 'gray',
  low: 'cyan',
  medium: 'yellow',
  high: 'red',
  critical: 'magenta',
};

/** The lines each part gets on a screen of `rows`: the tree takes what the others leave. */
export function layout(rows: number, guests: number, findings: number) {
  const usable = Math.max(4, rows - 1);
  const guestLines = 1 + Math.min(guests, 4) * 2;
  const findingLines = Math.min(Math.max(findings, 1), Math.max(2, Math.floor(usable / 3)));
  const treeLines = Math.max(1, usable - 1 - guestLines - 1 - findingLines - 1);
  return { guestLines, findingLines, treeLines };
}

const pad = (text: string | number, width: number) => String(text).padEnd(width).slice(0, width);

function guestLine(guest: GuestRow): ReactElement[] {
  return [
    h(
      Text,
      { key: `${guest.name}-a`, wrap: 'truncate' },
      h(Text, { bold: true }, pad(guest.name, 16)),
      // A replayed trace has no kernel to name.
      ` ${guest.kernel === '?' ? pad('recorded trace', 29) : `Linux ${pad(guest.kernel, 14)} ${pad(guest.architecture, 8)}`} ${pad(guest.rate.toFixed(1), 7)}ev/s ${pad(guest.events, 9)}events ${pad(guest.findings, 5)}findings ${guest.processes} processes`,
    ),
    h(
      Text,
      { key: `${guest.name}-b`, wrap: 'truncate', dimColor: true },
      `  ${guest.topTypes.join('  ') || 'no event yet'}   plugins: ${guest.plugins}`,
    ),
  ];
}

function findingLine(finding: FindingRow, index: number): ReactElement {
  return h(
    Text,
    { key: `f${index}`, wrap: 'truncate' },
    `${finding.time} `,
    h(Text, { color: SEVERITY_COLOUR[finding.severity] }, pad(finding.severity, 8)),
    ` ${pad(finding.guest, 12)} ${pad(finding.rule, 30)} ${finding.message}`,
  );
}

function treeLine(row: TreeRow): ReactElement {
  const indent = '  '.repeat(row.depth);
  const tail = [
    row.executable && row.executable !== row.name ? row.executable : '',
    row.folded ? `[${row.folded} kernel threads]` : '',
    row.exited ? '(exited)' : '',
  ]
    .filter(Boolean)
    .join(' ');
  return h(
    Text,
    {
      key: `${row.guest}-${row.pid}`,
      wrap: 'truncate',
      ...(row.flagged ? { color: 'red', bold: true } : {}),
      ...(row.exited ? { dimColor: true } : {}),
    },
    `${pad(row.guest, 10)} ${String(row.pid).padStart(7)} ${String(row.uid).padStart(6)} ${indent}${row.flagged ? '! ' : ''}${row.name} ${tail}`,
  );
}

function TopApp({ model, title, onQuit }: { model: TopModel; title: string; onQuit: () => void }) {
  const { stdout } = useStdout();
  const [, setFrame] = useState(0);
  const [offset, setOffset] = useState(0);
  const [size, setSize] = useState({ rows: stdout.rows || 24, columns: stdout.columns || 80 });
  useEffect(() => {
    let drawn = -1;
    let second = 0;
    const timer = setInterval(() => {
      const now = Math.floor(Date.now() / 1000);
      if (model.version !== drawn || now !== second) {
        drawn = model.version;
        second = now;
        setFrame((frame) => frame + 1);
      }
    }, FRAME_MS);
    const resized = () => setSize({ rows: stdout.rows || 24, columns: stdout.columns || 80 });
    stdout.on('resize', resized);
    return () => {
      clearInterval(timer);
      stdout.off('resize', resized);
    };
  }, [model, stdout]);
  const probe = model.view(Date.now(), 0, 0);
  const lines = layout(size.rows, probe.guests.length, probe.findings.length);
  const maxOffset = Math.max(0, probe.treeSize - lines.treeLines);
  const top = Math.min(offset, maxOffset);
  useInput((input, key) => {
    if (input === 'q' || (key.ctrl && input === 'c')) {
      onQuit();
    } else if (key.downArrow || input === 'j') setOffset(Math.min(top + 1, maxOffset));
    else if (key.upArrow || input === 'k') setOffset(Math.max(top - 1, 0));
    else if (key.pageDown || input === ' ') setOffset(Math.min(top + lines.treeLines, maxOffset));
    else if (key.pageUp) setOffset(Math.max(top - lines.treeLines, 0));
    else if (input === 'f' && probe.flaggedAt.length > 0) {
      // The next flagged process below the top row, or the first one again.
      const next = probe.flaggedAt.find((row) => row > top) ?? probe.flaggedAt[0]!;
      setOffset(Math.min(next, maxOffset));
    }
  });
  const view = model.view(Date.now(), top, lines.treeLines);
  const heading = (text: string) =>
    h(Text, { inverse: true, wrap: 'truncate' }, pad(text, size.columns));
  return h(
    Box,
    { flexDirection: 'column', width: size.columns, height: Math.max(4, size.rows - 1) },
    heading(
      `${title}   ${new Date().toISOString().slice(11, 19)}   q quit  ↑↓ PgUp PgDn scroll  f next flagged`,
    ),
    ...view.guests.slice(0, 4).flatMap(guestLine),
    heading(
      `FINDINGS ${view.findings.length ? `(${view.findings.length} newest first)` : '(none yet)'}`,
    ),
    ...view.findings.slice(0, lines.findingLines).map(findingLine),
    heading(
      `PROCESSES ${view.treeSize ? `${top + 1}-${top + view.tree.length} of ${view.treeSize}` : ''}   GUEST PID UID`,
    ),
    ...view.tree.map(treeLine),
    ...view.notices
      .slice(-1)
      .map((notice, index) =>
        h(Text, { key: `n${index}`, wrap: 'truncate', dimColor: true }, notice),
      ),
  );
}

export interface TopScreen {
  /** Resolves when the user quit (q or Ctrl-C). */
  readonly quit: Promise<void>;
  /** Takes the view down and gives the terminal back as it was. */
  close(): Promise<void>;
}

/** Opens the live view on this terminal (stdin and stdout must be one). */
export function openTopScreen(model: TopModel, title: string): TopScreen {
  const stdout = process.stdout;
  let quitted!: () => void;
  const quit = new Promise<void>((done) => (quitted = done));
  // Whatever happens, the terminal is given back (an uncaught error exits through here too).
  const restore = () => stdout.write(`${LEAVE_ALTERNATE}${SHOW_CURSOR}`);
  process.once('exit', restore);
  stdout.write(ENTER_ALTERNATE);
  const app = render(h(TopApp, { model, title, onQuit: () => quitted() }), {
    stdout,
    stdin: process.stdin,
    exitOnCtrlC: false,
    patchConsole: true,
  });
  // Asked for now: Ink settles it on unmount, and one asked for after that would never settle.
  const exited = app.waitUntilExit().catch(() => undefined);
  let closed: Promise<void> | undefined;
  return {
    quit,
    close() {
      closed ??= (async () => {
        app.unmount();
        await exited;
        process.off('exit', restore);
        restore();
        process.stdin.pause();
      })();
      return closed;
    },
  };
}
