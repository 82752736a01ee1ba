// A Ringside-like process for the kill test: writes findings into an Elasticsearch sink (durable queue
// on), prints how many are acknowledged, then waits until the queue is drained. Run with tsx.
// argv: <queue directory> <elasticsearch url> <first finding> <count>
import { silentLog } from '../../log.js';
import { syntheticFinding } from '../../test-support/findings.js';
import { createElasticsearchSink } from '../sink.js';

const [directory, url, firstText, countText] = process.argv.slice(2);
const first = Number(firstText);
const count = Number(countText);
const sink = await createElasticsearchSink({
  node: url!,
  observer: { hostname: 'hv-test', version: '0.1.0' },
  queue: { directory: directory! },
  batchSize: 500,
  retry: { baseMs: 20, maxMs: 200 },
  log: silentLog,
});
const burst = 250;
for (let n = first; n < first + count; n += burst) {
  const size = Math.min(burst, first + count - n);
  await Promise.all(Array.from({ length: size }, (_, k) => sink.write(syntheticFinding(n + k))));
  process.stdout.write(`acked ${n + size}\n`);
}
const drained = await sink.drained(60_000);
process.stdout.write(drained ? 'drained\n' : 'not drained\n');
await sink.close();
