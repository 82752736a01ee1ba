// Each queued sink writes its metrics beside its queue, so that `ringside status` can read them from
// another process while Ringside runs, and after it exits (the pid tells a killed process apart).
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SinkMetrics } from '../types.js';

export const METRICS_FILE = 'metrics.json';

/** Metrics as saved: when, and by which process. */
export type SavedMetrics = Omit<SinkMetrics, 'health'> & {
  /** A SinkHealth as saved; `ringside status` may show 'stopped' or 'stale' instead. */
  health: string;
  savedAt?: string;
  pid?: number;
};

/**
 * The file is padded to this size so that, when the disk is full and no new file can be written, the
 * metrics can still be rewritten in place (into blocks the file already owns): a full disk is exactly
 * when `ringside status` must show the refusals.
 */
const PADDED_BYTES = 4096;

export async function saveMetrics(directory: string, metrics: SinkMetrics): Promise<void> {
  const path = join(directory, METRICS_FILE);
  const json = JSON.stringify({ ...metrics, savedAt: new Date().toISOString(), pid: process.pid });
  const text = `${json}\n`.padEnd(PADDED_BYTES, ' ');
  try {
    await writeFile(`${path}.tmp`, text, { mode: 0o600 });
    await rename(`${path}.tmp`, path);
  } catch (error) {
    await rm(`${path}.tmp`, { force: true }).catch(() => undefined);
    // In place, without truncating: the blocks exist already. Fails again only if the file never did.
    if (Buffer.byteLength(text) > PADDED_BYTES) throw error;
    await writeFile(path, text, { flag: 'r+' });
  }
}

export async function loadMetrics(directory: string): Promise<SavedMetrics | undefined> {
  try {
    return JSON.parse(await readFile(join(directory, METRICS_FILE), 'utf8')) as SavedMetrics;
  } catch {
    return undefined;
  }
}
