import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { idsAtEndOf, idsInFileSinks } from './delivered-ids.js';

describe('ids at the end of file sinks', () => {
  let directory: string;
  beforeEach(() => (directory = mkdtempSync(join(tmpdir(), 'delivered-ids-'))));
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('reads ECS event.id and OCSF finding_info.uid, skipping other lines', async () => {
    const path = join(directory, 'f.ndjson');
    writeFileSync(
      path,
      [
        JSON.stringify({ event: { id: 'a1' } }),
        'not json',
        JSON.stringify({ finding_info: { uid: 'b2' } }),
        JSON.stringify({ event: { id: 3 } }),
        '{"event":{"id":"cut',
      ].join('\n'),
    );
    expect(await idsAtEndOf(path)).toEqual(new Set(['a1', 'b2']));
    expect(await idsAtEndOf(join(directory, 'missing'))).toEqual(new Set());
  });

  it('reads only the tail, dropping its cut first line', async () => {
    const path = join(directory, 'f.ndjson');
    const lines = Array.from({ length: 100 }, (_, n) =>
      JSON.stringify({ event: { id: `id-${n}` } }),
    );
    writeFileSync(path, `${lines.join('\n')}\n`);
    const ids = await idsAtEndOf(path, 200);
    expect(ids.has('id-99')).toBe(true);
    expect(ids.has('id-0')).toBe(false);
    expect(ids.size).toBeLessThan(10);
  });

  it('takes the ids every file sink holds', async () => {
    const a = join(directory, 'a');
    const b = join(directory, 'b');
    writeFileSync(a, ['x', 'y'].map((id) => JSON.stringify({ event: { id } })).join('\n'));
    writeFileSync(b, ['y'].map((id) => JSON.stringify({ event: { id } })).join('\n'));
    const config = {
      sinks: [{ type: 'file', path: a }, { type: 'stdout' }, { type: 'file', path: b }],
    };
    expect(await idsInFileSinks(config)).toEqual(new Set(['y']));
    expect(await idsInFileSinks({ sinks: [{ type: 'stdout' }] })).toEqual(new Set());
  });
});
