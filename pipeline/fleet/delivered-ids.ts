// The finding ids at the end of the file sinks of a sinks configuration: a worker taking the sinks
// over skips those, so a finding written just before the last writer died is not written twice.
import { open } from 'node:fs/promises';

/** How much of each file's end is read: far more than the findings written between two acks. */
const TAIL_BYTES = 8 << 20;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The id of a finding line in the ECS (event.id) or OCSF (finding_info.uid) format. */
function lineId(line: string): string | undefined {
  try {
    const value: unknown = JSON.parse(line);
    if (!isRecord(value)) return undefined;
    const ecs = isRecord(value.event) ? value.event.id : undefined;
    const ocsf = isRecord(value.finding_info) ? value.finding_info.uid : undefined;
    const id = ecs ?? ocsf;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** Ids in the last TAIL_BYTES of a file (a missing file holds none; a cut first line is skipped). */
export async function idsAtEndOf(path: string, tailBytes = TAIL_BYTES): Promise<Set<string>> {
  const ids = new Set<string>();
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return ids;
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - tailBytes);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    const lines = buffer.toString('utf8').split('\n');
    if (start > 0) lines.shift();
    for (const line of lines) {
      const id = lineId(line);
      if (id !== undefined) ids.add(id);
    }
    return ids;
  } finally {
    await handle.close();
  }
}

/**
 * The ids at the end of every `type: file` sink of a parsed sinks configuration, that all of them
 * hold (with several files, one a crash left behind gets the finding again rather than one losing it).
 */
export async function idsInFileSinks(config: unknown): Promise<Set<string>> {
  const entries = isRecord(config) ? config.sinks : config;
  if (!Array.isArray(entries)) return new Set();
  let common: Set<string> | undefined;
  for (const entry of entries)
    if (isRecord(entry) && entry.type === 'file' && typeof entry.path === 'string') {
      const ids = await idsAtEndOf(entry.path);
      common = common ? new Set([...common].filter((id) => ids.has(id))) : ids;
    }
  return common ?? new Set();
}
