// createConfiguredSinks: `type: module` entries load users' sink modules (the example sink, relative
// to the sinks file's folder) beside the built-in sinks; a bad module entry is bad input naming it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { InputError } from '../introspect/errors.js';
import { silentLog } from '../sinks/log.js';
import { rootkitFinding } from '../sinks/test-support/findings.js';
import { createConfiguredSinks } from './configured-sinks.js';

const examples = resolve(import.meta.dirname, '..', 'examples');
const observer = { hostname: 'test', version: '0' };

describe('createConfiguredSinks', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'api-sinks-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('delivers to a module sink and a built-in file sink side by side', async () => {
    const lines = join(dir, 'lines.txt');
    const ndjson = join(dir, 'findings.ndjson');
    const sinks = await createConfiguredSinks(
      {
        sinks: [
          { type: 'file', path: ndjson },
          { type: 'module', path: './my-sink.js', name: 'lines', file: lines },
        ],
      },
      { observer, log: silentLog, queueRoot: dir, baseDirectory: examples },
    );
    await sinks.write(rootkitFinding);
    await sinks.close();
    expect(readFileSync(lines, 'utf8')).toBe(
      `${rootkitFinding.rule.id} ${rootkitFinding.severity} ${rootkitFinding.message}\n`,
    );
    expect(JSON.parse(readFileSync(ndjson, 'utf8').trim())).toMatchObject({
      event: { id: rootkitFinding.id },
    });
    expect(sinks.sinks[0]!.name).toBe('lines');
  });

  it('names the entry when a module entry is wrong', async () => {
    const notASink = join(dir, 'not-a-sink.js');
    writeFileSync(notASink, 'export default () => ({ name: "x" });\n');
    const setup = { observer, log: silentLog, queueRoot: dir, baseDirectory: dir };
    await expect(createConfiguredSinks([{ type: 'module' }], setup)).rejects.toThrow(
      'sinks configuration: sinks[0]: a module sink needs a path',
    );
    await expect(
      createConfiguredSinks([{ type: 'module', path: './missing.js' }], setup),
    ).rejects.toThrow(InputError);
    await expect(
      createConfiguredSinks([{ type: 'module', path: './not-a-sink.js' }], setup),
    ).rejects.toThrow('./not-a-sink.js: the sink module returned no Sink');
    await expect(
      createConfiguredSinks(
        [
          { type: 'stdout', name: 'same' },
          { type: 'module', path: './not-a-sink.js', name: 'same' },
        ],
        setup,
      ),
    ).rejects.toThrow('two sinks are named "same"');
  });
});
