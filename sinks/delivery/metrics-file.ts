// Each queued sink writes its metrics beside its queue, so that `ringside status` can read them from
// another process while Ringside runs, and after it exits.
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SinkMetrics } from '../types.js';

export const METRICS_FILE = 'metrics.json';

export async function saveMetrics(directory: string, metrics: SinkMetrics): Promise<void> {
  const path = join(directory, METRICS_FILE);
  await writeFile(
    `${path}.tmp`,
    `${JSON.stringify({ ...metrics, savedAt: new Date().toISOString() })}\n`,
  );
  await rename(`${path}.tmp`, path);
}

export async function loadMetrics(
  directory: string,
): Promise<(SinkMetrics & { savedAt?: string }) | undefined> {
  try {
    return JSON.parse(await readFile(join(directory, METRICS_FILE), 'utf8')) as SinkMetrics & {
      savedAt?: string;
    };
  } catch {
    return undefined;
  }
}
