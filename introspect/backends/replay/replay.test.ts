import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import type { VmiEvent } from '../../events/event.js';
import { encodeTrace } from '../../events/trace.js';
import { replayTrace, replayTraceText } from './index.js';

const events: VmiEvent[] = Array.from({ length: 5 }, (_, index) => ({
  type: 'mem_access',
  domain: index % 2 === 0 ? 'a' : 'b',
  time: index,
  vmi: { gpa: BigInt(0x1000 * index), access: 'w' },
}));

const folder = mkdtempSync(join(tmpdir(), 'ringside-replay-'));
const path = join(folder, 'trace.ndjson');
writeFileSync(path, `# a comment\n${encodeTrace(events)}`);

describe('replayTrace', () => {
  it('plays a trace file as events, in order, then completes', async () => {
    expect(await lastValueFrom(replayTrace(path).pipe(toArray()))).toEqual(events);
  });

  it('keeps only the domains asked for', async () => {
    const played = await lastValueFrom(replayTrace(path, { domains: ['b'] }).pipe(toArray()));
    expect(played.map((event) => event.time)).toEqual([1, 3]);
  });

  it('stops reading when unsubscribed', async () => {
    expect(await firstValueFrom(replayTrace(path).pipe(take(2), toArray()))).toEqual(
      events.slice(0, 2),
    );
  });

  it('errors with the file and line of a bad event', async () => {
    const bad = join(folder, 'bad.ndjson');
    writeFileSync(bad, `${encodeTrace(events.slice(0, 1))}{"type":"mem_access"}\n`);
    await expect(lastValueFrom(replayTrace(bad).pipe(toArray()))).rejects.toThrow(
      `${bad}: line 2: the event has no domain`,
    );
  });

  it('errors with the path of a missing file', async () => {
    await expect(lastValueFrom(replayTrace(join(folder, 'none')))).rejects.toThrow(
      'cannot read the trace',
    );
  });

  it('plays trace text too', async () => {
    expect(await lastValueFrom(replayTraceText(encodeTrace(events)).pipe(toArray()))).toEqual(
      events,
    );
  });
});
