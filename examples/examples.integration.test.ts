// The package as a user gets it: `npm pack`, installed into a fresh project, a TypeScript file that
// imports from 'ringside' type-checks, and the example detector and sink run on a recorded trace.
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '..');
const run = (command: string, args: string[], cwd: string): string =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const consumer = `import { createConfiguredSinks, detect, listTasks, openDomain, type DetectorPlugin, type Finding, type Sink } from 'ringside';
const plugin: DetectorPlugin | undefined = undefined;
const sink: Sink | undefined = undefined;
const finding: Finding | undefined = undefined;
export { plugin, sink, finding, createConfiguredSinks, detect, listTasks, openDomain };
`;

const runner = `import { lastValueFrom, toArray, tap } from 'rxjs';
import { createConfiguredSinks, detect, isDetectorPlugin, loadRules, openDomain } from 'ringside';
import detector from './my-detector.js';
if (!isDetectorPlugin(detector)) throw new Error('the example is not a DetectorPlugin');
const { domain } = await openDomain({ kind: 'replay', path: process.argv[2] });
const sink = await createConfiguredSinks({ sinks: [{ type: 'module', path: './my-sink.js', file: 'findings.txt' }] },
  { observer: { hostname: 'test', version: '0' }, baseDirectory: process.cwd() });
let events = 0;
const findings = await lastValueFrom(detector.start({ domain, kernel: undefined })
  .pipe(tap(() => events++), detect(await loadRules()), toArray()));
for (const finding of findings) await sink.write(finding);
await sink.close();
console.log(JSON.stringify({ events, findings: findings.length }));
`;

describe('the npm package', () => {
  const work = mkdtempSync(join(tmpdir(), 'api-pack-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('installs, type-checks and runs the examples on a recorded trace', () => {
    expect(existsSync(join(repo, 'dist', 'api', 'index.d.ts'))).toBe(true); // npm run build first
    const tarball = run('npm', ['pack', '--silent', '--pack-destination', work], repo).trim();
    const project = join(work, 'project');
    run('mkdir', ['-p', project], work);
    writeFileSync(join(project, 'package.json'), '{ "name": "consumer", "type": "module" }\n');
    run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, tarball)],
      project,
    );

    writeFileSync(join(project, 'consumer.ts'), consumer);
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          typeRoots: [join(repo, 'node_modules', '@types')],
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    );
    run(join(repo, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], project);

    for (const file of ['my-detector.js', 'my-sink.js'])
      copyFileSync(join(repo, 'examples', file), join(project, file));
    writeFileSync(join(project, 'run.mjs'), runner);
    const trace = join(repo, 'samples', 'traces', 'exec-from-tmp.ndjson');
    const result = JSON.parse(run('node', ['run.mjs', trace], project)) as {
      events: number;
      findings: number;
    };
    expect(result.events).toBeGreaterThan(0);
    expect(result.findings).toBeGreaterThan(0);
    const lines = readFileSync(join(project, 'findings.txt'), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(result.findings);
    expect(lines[0]).toMatch(/^\S+ (low|medium|high|critical|informational) .*\/dev\/shm/);
  });
});
