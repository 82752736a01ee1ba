// Fleet bench: events/s from an agent (replayed guest, disk buffer, publish acks awaited) into JetStream,
// on a 3-node cluster with R3 streams against one node with R1; then two rule workers consuming them.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VmiEvent } from '../introspect/events/event.js';
import { decodeTrace, encodeTraceEvent } from '../introspect/events/trace.js';
import { NatsCluster } from '../lab/nats/cluster.js';
import {
  Agent,
  parseAgentConfig,
  RuleWorker,
  DEFAULT_STREAM_LIMITS,
} from '../pipeline/fleet/index.js';
import { loadRules } from '../pipeline/index.js';

const EVENTS = Number(process.env.RINGSIDE_BENCH_FLEET_EVENTS ?? 9000);

function trace(directory: string, name: string): string {
  const samples = ['exec-from-tmp', 'setuid-sudo', 'module-loads'].flatMap((file) =>
    decodeTrace(readFileSync(`samples/traces/${file}.ndjson`, 'utf8')),
  );
  const lines: string[] = [];
  for (let n = 0; n < EVENTS; n += 1)
    lines.push(
      encodeTraceEvent({ ...samples[n % samples.length]!, domain: name, time: n + 1 } as VmiEvent),
    );
  const path = join(directory, `${name}.ndjson`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

async function run(nodes: number): Promise<{ publish: number; consume: number; rss: number }> {
  const directory = mkdtempSync(join(tmpdir(), 'fleet-bench-'));
  const cluster = await NatsCluster.start(nodes, `fleet-bench${nodes}`);
  try {
    const path = trace(directory, 'fleet-bench');
    const config = parseAgentConfig(
      {
        host: 'bench',
        nats: { servers: cluster.servers, streams: { replicas: nodes, maxBytes: 512 << 20 } },
        buffer: { directory: join(directory, 'buffer') },
        discovery: { qemuProcesses: false, intervalSeconds: 0.05 },
        guests: [{ name: 'fleet-bench', replay: path }],
      },
      'bench',
    );
    const started = performance.now();
    const agent = await Agent.start({ config });
    if (!(await agent.idle(300_000))) throw new Error('agent did not drain');
    const publish = EVENTS / ((performance.now() - started) / 1000);
    const { published, duplicates } = agent.outbox.metrics();
    if (published + duplicates !== EVENTS) throw new Error(`published ${published} of ${EVENTS}`);
    const rss = process.memoryUsage().rss;
    await agent.stop();
    const rules = await loadRules();
    const streams = { ...DEFAULT_STREAM_LIMITS, replicas: nodes, maxBytes: 512 << 20 };
    const consumeStart = performance.now();
    const workers = [
      await RuleWorker.start({ servers: cluster.servers, rules, streams }),
      await RuleWorker.start({ servers: cluster.servers, rules, streams }),
    ];
    while (workers[0]!.stats.events + workers[1]!.stats.events < EVENTS)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const consume = EVENTS / ((performance.now() - consumeStart) / 1000);
    await Promise.all(workers.map((worker) => worker.stop()));
    return { publish, consume, rss };
  } finally {
    await cluster.destroy();
    rmSync(directory, { recursive: true, force: true });
  }
}

const single = await run(1);
const three = await run(3);
const line = (label: string, r: typeof single): string =>
  `${label}: agent → JetStream ${Math.round(r.publish)} events/s (acked, via disk buffer); 2 rule workers ${Math.round(r.consume)} events/s; agent process RSS ${Math.round(r.rss / 2 ** 20)} MiB\n`;
process.stdout.write(`${EVENTS} events, one replayed guest\n`);
process.stdout.write(line('1 node, R1', single));
process.stdout.write(line('3 nodes, R3', three));
process.stdout.write(
  `R3/R1: publish ${(three.publish / single.publish).toFixed(2)}x, consume ${(three.consume / single.consume).toFixed(2)}x\n`,
);
