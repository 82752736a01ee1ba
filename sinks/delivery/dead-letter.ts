// The dead-letter file: findings a destination refused for good (a mapping error, an invalid event),
// one JSON line each with the reason, so that nothing is lost without a record and can be re-sent.
import { appendFile } from 'node:fs/promises';
import type { EncodedFinding } from '../types.js';

export interface DeadLetter {
  time: string;
  sink: string;
  id: string;
  reason: string;
  body: string;
}

export async function writeDeadLetters(
  path: string,
  sink: string,
  items: readonly { record: EncodedFinding; reason: string }[],
  now = new Date(),
): Promise<void> {
  if (items.length === 0) return;
  const lines = items.map(({ record, reason }) =>
    JSON.stringify({
      time: now.toISOString(),
      sink,
      id: record.id,
      reason,
      body: record.body,
    } satisfies DeadLetter),
  );
  await appendFile(path, `${lines.join('\n')}\n`, { mode: 0o600 });
}
