// Partitions by guest on a real 3-node JetStream cluster: one worker, two workers, and two workers of
// which one is SIGKILLed mid-run give the same findings (sequences and thresholds included) as running each guest alone.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { VmiEvent } from '../../introspect/events/event.js';
import { toJson } from '../../introspect/events/json.js';
import { decodeTrace } from '../../introspect/events/trace.js';
import { Detector, RuleEngine } from '../../rules/index.js';
import { NatsCluster } from '../../lab/nats/cluster.js';
import { loadRules } from '../starter-rules.js';
import { Kvm } from '@nats-io/kv';
import { LEASES_BUCKET, LeaseTable } from './leases.js';
import { partitionConsumer } from './partitions.js';
import { RuleWorker } from './rule-worker.js';
import { DEFAULT_STREAM_LIMITS } from './streams.js';
import { EVENTS_STREAM, FINDINGS_STREAM, eventId, eventSubject } from './subjects.js';

const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const HOST = 'part-host';
const GUESTS = 12;
const PER_GUEST = 1500;
const streams = { ...DEFAULT_STREAM_LIMITS, replicas: 3, maxBytes: 256 << 20 };

let cluster: NatsCluster;
let nc: NatsConnection;
let jsm: JetStreamManager;
let engine: RuleEngine;
let expected: Set<string>;

/** Each guest's events: the sample traces over and over, pid and time shifted per guest. */
function guestEvents(guest: string): VmiEvent[] {
  const samples = ['exec-from-tmp', 'setuid-sudo', 'module-loads', 'service-shell-root'].flatMap(
    (file) => decodeTrace(readFileSync(`samples/traces/${file}.ndjson`, 'utf8')),
  );
  return Array.from(
    { length: PER_GUEST },
    (_, n) => ({ ...samples[n % samples.length]!, domain: guest, time: n * 1000 + 1 }) as VmiEvent,
  );
}

async function findingIds(): Promise<string[]> {
  const ids: string[] = [];
  const consumer = await jetstream(nc).consumers.get(FINDINGS_STREAM);
  const { state } = await jsm.streams.info(FINDINGS_STREAM);
  if (state.messages === 0) return ids;
  const messages = await consumer.consume();
  for await (const message of messages) {
    ids.push((JSON.parse(message.string()) as { id: string }).id);
    if (message.seq >= state.last_seq) break;
  }
  await messages.close();
  return ids;
}

/** Every partition's consumer of `group` has nothing pending nor unacked. */
async function consumed(group: string): Promise<boolean> {
  for (let partition = 0; partition < 8; partition += 1) {
    const info = await jsm.consumers
      .info(EVENTS_STREAM, partitionConsumer(group, partition))
      .catch(() => undefined);
    if (!info || info.num_pending + info.num_ack_pending > 0) return false;
  }
  return true;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 90_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** A fresh findings stream (its duplicate window forgotten), so each run's findings are its own. */
async function resetFindings(): Promise<void> {
  await jsm.streams.delete(FINDINGS_STREAM).catch(() => undefined);
}

beforeAll(async () => {
  cluster = await NatsCluster.start(3, 'fleet-part');
  nc = await connect({ servers: cluster.servers, maxReconnectAttempts: -1 });
  jsm = await jetstreamManager(nc);
  engine = new RuleEngine(await loadRules());
  const { ensureStreams } = await import('./streams.js');
  await ensureStreams(jsm, streams);
  const js = jetstream(nc);
  expected = new Set<string>();
  let correlated = 0;
  for (let index = 0; index < GUESTS; index += 1) {
    const guest = `guest-${index}`;
    const detector = new Detector(engine);
    const events = guestEvents(guest);
    for (const event of events)
      detector.process(event, (finding) => {
        expected.add(finding.id);
        if (finding.evidence?.correlation) correlated += 1;
      });
    for (let start = 0; start < events.length; start += 500)
      await Promise.all(
        events.slice(start, start + 500).map((event) =>
          js.publish(eventSubject(HOST, guest, event.type), toJson(event), {
            msgID: eventId(HOST, event),
          }),
        ),
      );
  }
  // The workload has sequences and thresholds, which a split guest would miss.
  expect(correlated).toBeGreaterThan(0);
  const { state } = await jsm.streams.info(EVENTS_STREAM, { subjects_filter: '>' });
  expect(state.messages).toBe(GUESTS * PER_GUEST);
  // Every event went to a partition (the servers' mapping), and the guests spread over several.
  const subjects = Object.keys(state.subjects ?? {});
  expect(subjects.filter((subject) => subject.split('.').length !== 6)).toEqual([]);
  expect(new Set(subjects.map((subject) => subject.split('.')[5])).size).toBeGreaterThan(3);
}, 120_000);

afterAll(async () => {
  await nc?.close();
  await cluster?.destroy();
});

describe('rule workers partitioned by guest on a 3-node cluster', () => {
  it('one worker owns every partition and finds what each guest alone gives', async () => {
    await resetFindings();
    const worker = await RuleWorker.start({
      servers: cluster.servers,
      rules: engine,
      durable: 'one',
      streams,
    });
    try {
      expect(worker.ownedPartitions).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
      await waitFor('every event consumed', () => consumed('one'));
    } finally {
      await worker.stop();
    }
    const ids = await findingIds();
    expect(new Set(ids)).toEqual(expected);
    expect(ids.length).toBe(expected.size);
  });

  it('two workers share the partitions and find the same set', async () => {
    await resetFindings();
    const options = {
      servers: cluster.servers,
      rules: engine,
      durable: 'two',
      streams,
      leaseTtlMs: 2000,
    };
    const first = await RuleWorker.start(options);
    const second = await RuleWorker.start(options);
    try {
      await waitFor(
        'the partitions to be shared',
        () => first.ownedPartitions.length === 4 && second.ownedPartitions.length === 4,
      );
      await waitFor('every event consumed', () => consumed('two'));
      expect([...first.ownedPartitions, ...second.ownedPartitions].sort()).toEqual(
        ['0', '1', '2', '3', '4', '5', '6', '7'].map(Number),
      );
      expect(first.stats.events).toBeGreaterThan(0);
      expect(second.stats.events).toBeGreaterThan(0);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
    const ids = await findingIds();
    expect(new Set(ids)).toEqual(expected);
    expect(ids.length).toBe(expected.size);
  });

  it('a worker SIGKILLed mid-run: its partitions move to the other once its leases expire, nothing lost or doubled', async () => {
    await resetFindings();
    // The worker to kill is a `ringside detect` process; it starts first and takes every partition.
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
        'kill',
        '--lease-ttl',
        '2',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const progress = async (): Promise<number> => {
      let acked = 0;
      for (let partition = 0; partition < 8; partition += 1) {
        const info = await jsm.consumers
          .info(EVENTS_STREAM, partitionConsumer('kill', partition))
          .catch(() => undefined);
        acked += info?.ack_floor.consumer_seq ?? 0;
      }
      return acked;
    };
    await waitFor('the child to take the events', async () => (await progress()) > 0, 60_000);
    const survivor = await RuleWorker.start({
      servers: cluster.servers,
      rules: engine,
      durable: 'kill',
      streams,
      leaseTtlMs: 2000,
    });
    try {
      const acked = await progress();
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      // Killed mid-run: part of the events were acked, not all.
      expect(acked).toBeLessThan(GUESTS * PER_GUEST);
      await waitFor(
        'the survivor to own every partition',
        () => survivor.ownedPartitions.length === 8,
        30_000,
      );
      await waitFor('every event consumed', () => consumed('kill'));
      expect(survivor.stats.takeovers).toBeGreaterThan(0);
    } finally {
      await survivor.stop();
    }
    const ids = await findingIds();
    expect(new Set(ids)).toEqual(expected);
    expect(ids.length).toBe(expected.size);
    expect(stderr).toContain('partition');
  });

  it('a renewal applied by the cluster whose answer was lost keeps the lease; a taken one is lost', async () => {
    const mine = await LeaseTable.open(nc, 'lease-it-a', { ttlMs: 10_000, replicas: 3 });
    const theirs = await LeaseTable.open(nc, 'lease-it-b', { ttlMs: 10_000, replicas: 3 });
    const kv = await new Kvm(nc).open(LEASES_BUCKET);
    const lease = (await mine.acquire('lease-it.p.0'))!;
    expect(lease).toBeDefined();
    expect(await theirs.acquire('lease-it.p.0')).toBeUndefined();
    // The renewal reached the cluster, its reply did not: the worker still has the old revision.
    await kv.update(lease.key, 'lease-it-a', lease.revision);
    const renewed = await mine.renew(lease);
    expect(renewed?.revision).toBeGreaterThan(lease.revision + 1);
    // Taken by another (after an expiry): lost, whatever the revision.
    await kv.put(lease.key, 'lease-it-b');
    expect(await mine.renew(renewed!)).toBeUndefined();
    await kv.delete(lease.key);
  });

  it('lease holders are still read after the bucket leader node is killed', async () => {
    const table = await LeaseTable.open(nc, 'lease-it-c', { ttlMs: 10_000, replicas: 3 });
    expect(await table.acquire('lease-it.p.1')).toBeDefined();
    // The bucket's stream leader is the node killed (an election follows).
    const leader = (await jsm.streams.info(`KV_${LEASES_BUCKET}`)).cluster?.leader ?? '';
    const killed = Number(/-(\d+)$/.exec(leader)?.[1] ?? 1) - 1;
    await cluster.killNode(killed);
    try {
      // kv.keys() never answered again here, and the stream's subjects came back empty for 15 s
      // (every ownership pass failed); an election is seconds, so failing after 20 s is a hang.
      let held = new Map<string, string>();
      await waitFor(
        'the lease holders read again',
        async () => {
          held = await table.holders(['lease-it.p.1', 'lease-it.p.2']).catch(() => new Map());
          return held.size > 0;
        },
        20_000,
      );
      expect([...held]).toEqual([['lease-it.p.1', 'lease-it-c']]);
    } finally {
      cluster.startNode(killed);
    }
  });
});
