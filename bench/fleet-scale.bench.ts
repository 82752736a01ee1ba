// Fleet scale simulation: 1,000 simulated guests on 20 hosts (realistic rates ×17, ~100 k events/s, batched as the
// agent does) through the 3-node cluster (R3) to two rule workers: events/s, lag, p50/p99 event → finding, CPU.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { VmiEvent } from '../introspect/events/event.js';
import { NatsCluster } from '../lab/nats/cluster.js';
import {
  DEFAULT_BATCH_MS,
  DEFAULT_STREAM_LIMITS,
  EVENTS_STREAM,
  FINDINGS_STREAM,
  MAX_BATCH_EVENTS,
  eventMessage,
  outgoingEvent,
  type OutgoingEvent,
} from '../pipeline/fleet/index.js';
import { ensureStreams } from '../pipeline/fleet/streams.js';
import { partitionConsumer } from '../pipeline/fleet/partitions.js';
import { realisticEvents } from './realistic-stream.js';

const GUESTS = Number(process.env.RINGSIDE_BENCH_FLEET_GUESTS ?? 1000);
const HOSTS = 20;
const SECONDS = Number(process.env.RINGSIDE_BENCH_FLEET_SECONDS ?? 30);
/** The realistic rates times this (17: ~100 k events/s offered, the target). */
const SCALE = Number(process.env.RINGSIDE_BENCH_FLEET_SCALE ?? 17);
const TARGET_EVENTS = 100_000;
/** Messages awaiting their ack per simulated host: a deeper window only queues in the servers (acks past their timeout). */
const WINDOW = Number(process.env.RINGSIDE_BENCH_FLEET_WINDOW ?? 16);
const TARGET_P99_MS = 1000;
const BUSY_RATE = 50;
const IDLE_RATE = 1;
const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
const latencySink = fileURLToPath(new URL('./support/latency-sink.js', import.meta.url));

/** The event pool: the realistic stream, with execs from /tmp thinned to 1 in 20 (a quieter host). */
const POOL: VmiEvent[] = [...realisticEvents(20_000)].map((event, index) =>
  event.process?.executable?.startsWith('/tmp/') && index % 20 !== 0
    ? ({
        ...event,
        process: { ...event.process, executable: `/usr/bin/${event.process.name}` },
      } as VmiEvent)
    : event,
);

interface Guest {
  host: string;
  name: string;
  rate: number;
  due: number;
  next: number;
}

/** CPU seconds a process has used (user + system), from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
const ownCpu = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

const quantile = (sorted: number[], q: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

async function lag(jsm: JetStreamManager): Promise<number> {
  let pending = 0;
  for (let partition = 0; partition < 8; partition += 1) {
    const info = await jsm.consumers
      .info(EVENTS_STREAM, partitionConsumer('bench', partition))
      .catch(() => undefined);
    pending += (info?.num_pending ?? 0) + (info?.num_ack_pending ?? 0);
  }
  return pending;
}

/**
 * Publishes every guest's due events each tick of the agent's batching time (DEFAULT_BATCH_MS) for
 * `seconds` (rate × scale), as the agent does: one message per guest and tick (its events' JSON and
 * ids, eventMessage()), each host on its own connection with at most WINDOW messages awaiting
 * their ack; returns events published.
 */
async function simulate(
  connections: NatsConnection[],
  guests: Guest[],
  seconds: number,
  scale: number,
  onSecond: (published: number) => Promise<void>,
): Promise<{ published: number; messages: number; seconds: number }> {
  const clients = connections.map((nc) => jetstream(nc));
  const inFlight = connections.map(() => new Set<Promise<unknown>>());
  let published = 0;
  let messages = 0;
  let failed = 0;
  const start = performance.now();
  let nextReport = start + 1000;
  let counter = 0;
  let last = start;
  while (performance.now() - start < seconds * 1000) {
    const tick = performance.now();
    // Events due since the last tick (a slow tick, held by the window below, gives bigger batches,
    // as the agent's events wait while its appends and publishes are in flight).
    const elapsed = (tick - last) / 1000;
    last = tick;
    for (const guest of guests) {
      guest.due += guest.rate * scale * elapsed;
      if (guest.due < 1) continue;
      const hostIndex = Number(guest.host.slice(5));
      const set = inFlight[hostIndex]!;
      if (set.size >= WINDOW) await Promise.race(set);
      // The earliest this tick's events could have been emitted: the latency counts the batching.
      const timestamp = new Date(Date.now() - DEFAULT_BATCH_MS).toISOString();
      const events: OutgoingEvent[] = [];
      for (; guest.due >= 1; guest.due -= 1) {
        const base = POOL[(guest.next += 1) % POOL.length]!;
        counter += 1;
        events.push(
          outgoingEvent(guest.host, {
            ...base,
            domain: guest.name,
            time: counter,
            timestamp,
          } as VmiEvent),
        );
      }
      for (let from = 0; from < events.length; from += MAX_BATCH_EVENTS) {
        const batch = events.slice(from, from + MAX_BATCH_EVENTS);
        const message = eventMessage(guest.host, guest.name, batch);
        messages += 1;
        const promise = clients[hostIndex]!.publish(message.subject, message.payload, {
          msgID: message.id,
          timeout: 30_000,
        }).then(
          () => (published += batch.length),
          () => (failed += batch.length),
        );
        set.add(promise);
        void promise.finally(() => set.delete(promise));
      }
    }
    if (performance.now() >= nextReport) {
      nextReport += 1000;
      await onSecond(published);
    }
    const wait = DEFAULT_BATCH_MS - (performance.now() - tick);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  await Promise.all(inFlight.flatMap((set) => [...set]));
  if (failed > 0) process.stdout.write(`  ${failed} events' publishes failed\n`);
  return { published, messages, seconds: (performance.now() - start) / 1000 };
}

const directory = mkdtempSync(join(tmpdir(), 'fleet-scale-'));
const cluster = await NatsCluster.start(3, 'fleet-scale');
const workers: ChildProcess[] = [];
try {
  const nc = await connect({ servers: cluster.servers });
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, { ...DEFAULT_STREAM_LIMITS, replicas: 3, maxBytes: 4 << 30 });
  const latencies = join(directory, 'latencies.json');
  writeFileSync(
    join(directory, 'sinks.yaml'),
    JSON.stringify({ sinks: [{ type: 'module', path: latencySink, output: latencies }] }),
  );
  for (let n = 0; n < 2; n += 1) {
    const child = spawn(
      process.execPath,
      [
        cli,
        'detect',
        '--nats',
        cluster.servers.join(','),
        '--rules',
        'samples/rules',
        '--group',
        'bench',
        '--sinks',
        join(directory, 'sinks.yaml'),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    workers.push(child);
  }
  // Both workers up and sharing the partitions before the guests start.
  await new Promise((resolve) => setTimeout(resolve, 6000));
  const connections = await Promise.all(
    Array.from({ length: HOSTS }, (_, n) =>
      connect({ servers: cluster.servers[n % 3], name: `host-${n}` }),
    ),
  );
  const guests: Guest[] = Array.from({ length: GUESTS }, (_, n) => ({
    host: `host-${n % HOSTS}`,
    name: `guest-${n}`,
    rate: n % 10 === 0 ? BUSY_RATE : IDLE_RATE,
    due: (n % 10) / 10,
    next: n * 97,
  }));
  const offered = guests.reduce((sum, guest) => sum + guest.rate, 0) * SCALE;
  const lags: number[] = [];
  process.stdout.write(
    `${GUESTS} guests on ${HOSTS} hosts, ${offered} events/s offered (a tenth at ${BUSY_RATE * SCALE}/s, the rest ${IDLE_RATE * SCALE}/s: the realistic rates × ${SCALE}), batched per guest every ${DEFAULT_BATCH_MS} ms as the agent does, ${SECONDS} s; 3 nodes R3, 8 partitions, 2 workers; this 2-core machine is shared with other work (load average ${loadavg()[0]!.toFixed(1)})\n`,
  );
  const workerPids = workers.map((child) => child.pid!);
  const cpuOf = (pids: number[]): number[] => pids.map((pid) => cpuSeconds(pid));
  const before = { servers: cpuOf(cluster.pids), workers: cpuOf(workerPids), publisher: ownCpu() };
  // Sampled beside the guests, never awaited by them (eight consumer-info round trips a second
  // would hold the simulated agents back: the first version of this bench measured that).
  let sampling = false;
  const sustained = await simulate(connections, guests, SECONDS, SCALE, () => {
    if (!sampling) {
      sampling = true;
      void lag(jsm)
        .then((value) => lags.push(value))
        .finally(() => (sampling = false));
    }
    return Promise.resolve();
  });
  const cpu = {
    servers: cpuOf(cluster.pids).map((seconds, n) => seconds - before.servers[n]!),
    workers: cpuOf(workerPids).map((seconds, n) => seconds - before.workers[n]!),
    publisher: ownCpu() - before.publisher,
  };
  const drainStart = performance.now();
  while ((await lag(jsm)) > 0 && performance.now() - drainStart < 120_000)
    await new Promise((resolve) => setTimeout(resolve, 250));
  const drain = (performance.now() - drainStart) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const findings = (await jsm.streams.info(FINDINGS_STREAM)).state.messages;
  const rate = sustained.published / sustained.seconds;
  const perEvent = sustained.published / sustained.messages;
  const share = (seconds: number): string =>
    `${((100 * seconds) / sustained.seconds).toFixed(0)} % of a core`;
  const sortedLag = [...lags].sort((a, b) => a - b);
  process.stdout.write(
    `sustained: ${Math.round(rate)} events/s published and acked (R3) = ${(rate / TARGET_EVENTS).toFixed(2)} of the ${TARGET_EVENTS} target; ${Math.round(sustained.messages / sustained.seconds)} messages/s, ${perEvent.toFixed(1)} events per message\n`,
  );
  process.stdout.write(
    `consumer lag (each second, messages): median ${quantile(sortedLag, 0.5)} (≈ ${Math.round(quantile(sortedLag, 0.5) * perEvent)} events), max ${sortedLag.at(-1)} (≈ ${Math.round((sortedLag.at(-1) ?? 0) * perEvent)} events); drained ${drain.toFixed(1)} s after the guests stopped; ${findings} findings (${((100 * findings) / sustained.published).toFixed(2)} % of events)\n`,
  );
  process.stdout.write(
    `CPU during the run: nats-servers ${cpu.servers.map(share).join(', ')}; workers ${cpu.workers.map(share).join(', ')}; simulated agents ${share(cpu.publisher)}\n`,
  );
  const perThousand = (seconds: number): string =>
    ((1000 * seconds) / sustained.published).toFixed(4);
  const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
  process.stdout.write(
    `CPU seconds per 1,000 events: 3 nats-servers (R3, events + findings + acks) ${perThousand(sum(cpu.servers))}, 2 workers (rules, findings, sink) ${perThousand(sum(cpu.workers))}, simulated agents' publishing ${perThousand(cpu.publisher)}\n`,
  );
  for (const child of workers) child.kill('SIGTERM');
  await Promise.all(workers.map((child) => new Promise((resolve) => child.once('exit', resolve))));
  // Each worker's sink keeps its own file; only the one holding the sinks lease wrote findings.
  const times = workers
    .flatMap((child) => JSON.parse(readFileSync(`${latencies}.${child.pid}`, 'utf8')) as number[])
    .sort((a, b) => a - b);
  const p99 = quantile(times, 0.99);
  process.stdout.write(
    `event → finding in the sink: p50 ${quantile(times, 0.5)} ms, p99 ${p99} ms (= ${(p99 / TARGET_P99_MS).toFixed(2)} of the ${TARGET_P99_MS} ms bound), max ${times.at(-1)} ms (${times.length} findings)\n`,
  );
  await Promise.all(connections.map((c) => c.close()));
  await nc.close();
} finally {
  for (const child of workers) child.kill('SIGKILL');
  await cluster.destroy();
  rmSync(directory, { recursive: true, force: true });
}
