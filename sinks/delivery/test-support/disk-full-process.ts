// A Ringside-like process for the full-disk test: writes findings into an Elasticsearch sink whose
// queue sits on a small tmpfs until the disk refuses some, prints each acknowledged id, waits for "go"
// on stdin (the test fills the disk and brings the endpoint up), then waits until the queue drained.
// argv: <queue directory> <elasticsearch url>
import { createInterface } from 'node:readline';
import { createElasticsearchSink } from '../../elasticsearch/sink.js';
import { silentLog } from '../../log.js';
import { syntheticFinding } from '../../test-support/findings.js';

const [directory, url] = process.argv.slice(2);
const sink = await createElasticsearchSink({
  node: url!,
  observer: { hostname: 'hv-test', version: '0.1.0' },
  queue: { directory: directory!, segmentBytes: 64 << 10 },
  batchSize: 50,
  retry: { baseMs: 20, maxMs: 200 },
  metricsIntervalMs: 100,
  log: silentLog,
});
const lines = createInterface({ input: process.stdin });
const commands = lines[Symbol.asyncIterator]();
let refused = 0;
let n = 0;
const writeSome = async (count: number): Promise<void> => {
  const outcomes = await Promise.allSettled(
    Array.from({ length: count }, () => syntheticFinding(n++)).map(async (finding) => {
      await sink.write(finding);
      process.stdout.write(`ok ${finding.id}\n`);
    }),
  );
  refused += outcomes.filter((outcome) => outcome.status === 'rejected').length;
};
while (refused < 20 && n < 100_000) await writeSome(20);
process.stdout.write(`full after ${n} findings, ${refused} refused\n`);
await commands.next();
// The disk is full to the last byte and the endpoint is back: more writes, and delivery (cursor writes).
await writeSome(20);
const drained = await sink.drained(30_000);
await sink.close();
process.stdout.write(`${drained ? 'drained' : 'not drained'} refused ${refused}\n`);
lines.close();
