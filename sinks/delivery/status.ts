// What `ringside status` shows: each sink's queue directory under a root, its saved metrics, the bytes
// its queue holds on disk and the findings in its dead-letter file. Reading only; works while Ringside
// runs (metrics.json is rewritten every second) and after it stopped.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { DurableQueue } from '../queue/queue.js';
import { parseDeadLetters } from './dead-letter.js';
import { loadMetrics } from './metrics-file.js';
import type { SavedMetrics } from './metrics-file.js';
import type { SinkMetrics } from '../types.js';

/** Where queued sinks keep their queues unless told otherwise: $RINGSIDE_QUEUE_DIR, else a state dir. */
export function defaultQueueRoot(environment = process.env): string {
  if (environment.RINGSIDE_QUEUE_DIR) return environment.RINGSIDE_QUEUE_DIR;
  const state = environment.XDG_STATE_HOME ?? join(homedir(), '.local', 'state');
  return join(state, 'ringside', 'queues');
}

export interface QueueStatus {
  directory: string;
  metrics: SavedMetrics | undefined;
  diskBytes: number;
  deadLetterFindings: number;
}

/** Whether the process `pid` exists (EPERM: it does, owned by someone else). */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Metrics older than this, from a process that did not close its sink, are not news. */
const STALE_MS = 30_000;

/**
 * The health to show: what the process saved, unless it did not close its sink and is gone (killed,
 * crashed) — then "stopped", never the "ok" it last wrote — or has not saved for a long time.
 */
export function observedHealth(metrics: SavedMetrics, now = Date.now()): string {
  if (metrics.health === 'closed') return metrics.health;
  if (metrics.pid !== undefined && !running(metrics.pid)) return 'stopped';
  const savedAt = metrics.savedAt !== undefined ? Date.parse(metrics.savedAt) : NaN;
  if (!(now - savedAt < STALE_MS)) return 'stale';
  return metrics.health;
}

export async function readQueueStatus(root: string): Promise<QueueStatus[]> {
  if (!existsSync(root)) return [];
  const rows: QueueStatus[] = [];
  for (const entry of readdirSync(root).sort()) {
    const directory = join(root, entry);
    if (!statSync(directory).isDirectory()) continue;
    const metrics = await loadMetrics(directory);
    const hasQueue = readdirSync(directory).some((file) => file.endsWith('.q'));
    if (!metrics && !hasQueue) continue;
    const deadLetterPath = join(directory, 'dead-letter.ndjson');
    const deadLetterFindings = existsSync(deadLetterPath)
      ? parseDeadLetters(readFileSync(deadLetterPath, 'utf8')).letters.length
      : 0;
    rows.push({
      directory,
      metrics: metrics && { ...metrics, health: observedHealth(metrics) },
      diskBytes: await DurableQueue.diskUsage(directory),
      deadLetterFindings,
    });
  }
  return rows;
}

const bytes = (count: number): string =>
  count < 1024
    ? `${count} B`
    : count < 1 << 20
      ? `${(count / 1024).toFixed(1)} KiB`
      : `${(count / (1 << 20)).toFixed(1)} MiB`;

/** A fixed-width table, one line per sink, then the last error of each failing sink. */
export function formatStatus(rows: readonly QueueStatus[]): string[] {
  if (rows.length === 0) return ['no sink queues found'];
  const header = [
    'sink',
    'health',
    'queued',
    'on disk',
    'sent',
    'retried',
    'dead-lettered',
    'dropped',
    'updated',
  ];
  const table = rows.map((row) => {
    const m = row.metrics;
    return [
      m?.sink ?? row.directory,
      m?.health ?? 'unknown',
      m ? String(m.queued) : '?',
      bytes(row.diskBytes),
      m ? String(m.sent) : '?',
      m ? String(m.retried) : '?',
      String(Math.max(m?.deadLettered ?? 0, row.deadLetterFindings)),
      m ? String(m.dropped) : '?',
      m?.savedAt ?? '-',
    ];
  });
  const widths = header.map((title, column) =>
    Math.max(title.length, ...table.map((cells) => cells[column]!.length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  const lines = [line(header), ...table.map(line)];
  for (const row of rows)
    if (row.metrics?.lastError && row.metrics.health !== 'ok')
      lines.push(
        `${row.metrics.sink}: last error at ${row.metrics.lastErrorAt ?? '?'}: ${row.metrics.lastError}`,
      );
  for (const row of rows)
    if (row.deadLetterFindings > 0)
      lines.push(
        `${row.metrics?.sink ?? row.directory}: ${row.deadLetterFindings} dead letter(s) in ${join(row.directory, 'dead-letter.ndjson')}; ` +
          `re-send them with: ringside sinks redeliver --sinks FILE --sink ${basename(row.directory)}`,
      );
  return lines;
}

/** The same table for metrics in hand (the summary a process prints on exit, from Fanout.all()). */
export function formatMetrics(metrics: readonly SinkMetrics[]): string[] {
  return formatStatus(
    metrics.map((sinkMetrics) => ({
      directory: sinkMetrics.sink,
      metrics: { ...sinkMetrics, savedAt: new Date().toISOString() },
      diskBytes: sinkMetrics.queuedBytes,
      deadLetterFindings: sinkMetrics.deadLettered,
    })),
  );
}
