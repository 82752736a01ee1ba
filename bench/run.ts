// Runs every benchmark (bench/*.bench.js in the build) in its own process, one after the other, so
// each starts cold and none disturbs another. `npm run bench -- NAME` runs only those matching NAME.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const benches = readdirSync(here)
  .filter((name) => name.endsWith('.bench.js'))
  .filter((name) => filter === undefined || name.includes(filter))
  .sort();

let failed = 0;
for (const bench of benches) {
  process.stdout.write(`\n## ${bench.replace(/\.bench\.js$/, '')}\n`);
  const result = spawnSync(process.execPath, ['--expose-gc', join(here, bench)], {
    stdio: 'inherit',
  });
  if (result.status !== 0) failed += 1;
}
if (failed > 0) {
  process.stderr.write(`${failed} benchmark(s) failed\n`);
  process.exitCode = 1;
}
