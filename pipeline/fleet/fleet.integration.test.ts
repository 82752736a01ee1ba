// Fleet mode on a real 3-node JetStream cluster (Debian's nats-server on loopback): the agent's events
// reach the R3 stream exactly once when a node is killed mid-stream and across a full outage (rule
// workers: partitions.integration.test.ts).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { VmiEvent } from '../../introspect/events/event.js';
import { decodeTrace, encodeTraceEvent } from '../../introspect/events/trace.js';
import { parseAgentConfig } from './agent-config.js';
import { Agent } from './agent.js';
import type { GuestCandidate, GuestSource } from './guest-sources.js';
import { unpackEvents } from './event-batch.js';
import { EVENTS_STREAM } from './subjects.js';
import { NatsCluster } from '../../lab/nats/cluster.js';

let cluster: NatsCluster;
let directory: string;
let nc: NatsConnection;
let jsm: JetStreamManager;

/** A trace of `count` distinct events built from the sample traces (pid and time shifted). */
function writeTrace(name: string, count: number): { path: string; events: VmiEvent[] } {
  const samples = ['exec-from-tmp', 'setuid-sudo', 'module-loads', 'service-shell-root'].flatMap(
    (file) => decodeTrace(readFileSync(`samples/traces/${file}.ndjson`, 'utf8')),
  );
  const events: VmiEvent[] = [];
  for (let n = 0; events.length < count; n += 1) {
    const sample = samples[n % samples.length]!;
    const shifted = { ...sample, domain: name, time: n * 1000 + 1 } as VmiEvent;
    events.push(shifted);
  }
  const path = join(directory, `${name}.ndjson`);
  writeFileSync(path, events.map((event) => encodeTraceEvent(event)).join('\n') + '\n');
  return { path, events };
}

const replayGuest = (name: string, path: string): GuestCandidate => ({
  key: `replay:${name}`,
  name,
  spec: { kind: 'replay', path, name },
  mode: 'replay',
  plugins: [],
  finite: true,
});

/** Messages in a stream; retried while a just-restarted cluster elects its leaders. */
async function streamMessages(stream: string): Promise<number> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return (await jsm.streams.info(stream)).state.messages;
    } catch (error) {
      if (attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

/**
 * The events the stream holds (the agent sends a busy guest's events in batches), each as
 * "guest:time" — unique per event of these traces, so a duplicate shows. Retried as above.
 */
async function storedEvents(): Promise<string[]> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await readEvents();
    } catch (error) {
      if (attempt >= 20) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

async function readEvents(): Promise<string[]> {
  const count = await streamMessages(EVENTS_STREAM);
  const events: string[] = [];
  if (count === 0) return events;
  const { state } = await jsm.streams.info(EVENTS_STREAM);
  const messages = await (await jetstream(nc).consumers.get(EVENTS_STREAM)).consume();
  for await (const message of messages) {
    for (const json of unpackEvents(message.subject, message.string())) {
      const event = JSON.parse(json) as { domain: string; time: number };
      events.push(`${event.domain}:${event.time}`);
    }
    if (message.seq >= state.last_seq) break;
  }
  await messages.close();
  return events;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 60_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  directory = mkdtempSync(join(tmpdir(), 'fleet-it-'));
  cluster = await NatsCluster.start(3, 'fleet-it');
  nc = await connect({
    servers: cluster.servers,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  jsm = await jetstreamManager(nc);
});

let agent!: Agent;
let agentRunning = false;

afterAll(async () => {
  if (agentRunning) await agent.stop().catch(() => undefined);
  await nc?.close();
  await cluster?.destroy();
  rmSync(directory, { recursive: true, force: true });
});

describe('fleet mode on a 3-node JetStream cluster', () => {
  const guests: GuestCandidate[] = [];
  const source: GuestSource = () => Promise.resolve({ guests: [...guests], skipped: [] });
  let published = 0;

  it('publishes every event exactly once while a node is killed mid-stream', async () => {
    const config = parseAgentConfig(
      {
        host: 'fleet-host',
        nats: { servers: cluster.servers, streams: { replicas: 3, maxBytes: 256 << 20 } },
        buffer: { directory: join(directory, 'buffer') },
        discovery: { qemuProcesses: false, intervalSeconds: 0.2 },
      },
      'agent.yaml',
    );
    const started = await Agent.start({ config, sources: [source] });
    agent = started;
    agentRunning = true;
    const trace = writeTrace('fleet-a', 6000);
    guests.push(replayGuest('fleet-a', trace.path));
    await waitFor('a third published', () => agent.outbox.metrics().published > 2000);
    await cluster.killNode(1);
    expect(agent.outbox.metrics().published).toBeLessThan(6000);
    expect(await agent.idle(90_000)).toBe(true);
    published = 6000;
    const stored = await storedEvents();
    expect(stored.length).toBe(published);
    expect(new Set(stored).size).toBe(published);
    // A replayed guest is busy: its events went in batches, far fewer messages than events.
    expect(await streamMessages(EVENTS_STREAM)).toBeLessThan(published / 4);
    const metrics = agent.outbox.metrics();
    expect(metrics.published).toBe(published);
    cluster.startNode(1);
    await cluster.ready();
  });

  it('buffers on disk while NATS is down and drains by itself when it is back', async () => {
    await cluster.stop();
    const trace = writeTrace('fleet-b', 3000);
    guests.push(replayGuest('fleet-b', trace.path));
    const taken = async (): Promise<string> =>
      agent.metrics.registry.getSingleMetricAsString('ringside_agent_events_total');
    await waitFor('the agent to take fleet-b', async () =>
      (await taken()).includes('ringside_agent_events_total{guest="fleet-b"} 3000'),
    );
    await waitFor('fleet-b to end', () =>
      agent.guestStates().some((guest) => guest.name === 'fleet-b' && !guest.attached),
    );
    await waitFor('publishing to fail', () => !agent.outbox.metrics().healthy, 30_000);
    const down = agent.outbox.metrics();
    expect(down.healthy).toBe(false);
    // All 3000 on disk (in batches: fewer records than events), none published.
    expect(down.published).toBe(6000);
    expect(down.queuedRecords).toBeGreaterThan(0);
    const health = await agent.metrics.registry.getSingleMetricAsString(
      'ringside_agent_queue_records',
    );
    expect(health).toContain(`ringside_agent_queue_records ${down.queuedRecords}`);
    for (let index = 0; index < 3; index += 1) cluster.startNode(index);
    expect(await agent.idle(90_000)).toBe(true);
    published += 3000;
    const stored = await storedEvents();
    expect(stored.length).toBe(published);
    expect(new Set(stored).size).toBe(published);
    expect(agent.outbox.metrics().published).toBe(published);
    expect(agent.outbox.metrics().healthy).toBe(true);
    agentRunning = false;
    await agent.stop();
  });
});
