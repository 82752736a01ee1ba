// `ringside detect --nats` without rules against a server no agent has used yet: the watcher says
// once that it waits for the events stream (no stack trace, no exit), then prints the first event.
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { NatsCluster } from '../../lab/nats/cluster.js';
import { ensureStreams, DEFAULT_STREAM_LIMITS } from './streams.js';
import { eventSubject } from './subjects.js';
import { watchEvents } from './event-watch.js';

let cluster: NatsCluster;
let nc: NatsConnection;

beforeAll(async () => {
  cluster = await NatsCluster.start(1, 'fleet-watch');
  nc = await connect({ servers: cluster.servers });
}, 60_000);

afterAll(async () => {
  await nc?.close();
  await cluster?.destroy();
});

it('waits for the events stream, saying so once, then prints what arrives', async () => {
  const waiting: string[] = [];
  const printed: string[] = [];
  const abort = new AbortController();
  const watching = watchEvents(
    { servers: cluster.servers, onWaiting: (message) => waiting.push(message), retryMs: 100 },
    (json) => printed.push(json),
    abort.signal,
  );
  try {
    const until = Date.now() + 10_000;
    while (waiting.length === 0 && Date.now() < until)
      await new Promise((resolve) => setTimeout(resolve, 50));
    // Several retries later, still one message.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(waiting).toEqual([
      `no RINGSIDE_EVENTS stream on ${cluster.servers[0]} yet: waiting for an agent or a rules worker to create it`,
    ]);
    await ensureStreams(await jetstreamManager(nc), { ...DEFAULT_STREAM_LIMITS, replicas: 1 });
    const event = { type: 'process.exec', domain: 'g', time: 1, process: { pid: 7 } };
    const js = (await import('@nats-io/jetstream')).jetstream(nc);
    const deadline = Date.now() + 20_000;
    // The watcher starts from new events once the stream exists: publish until one is printed.
    while (printed.length === 0 && Date.now() < deadline) {
      await js.publish(eventSubject('h', 'g', 'process.exec'), JSON.stringify(event));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(JSON.parse(printed[0]!)).toMatchObject({ type: 'process.exec', process: { pid: 7 } });
  } finally {
    abort.abort();
    await watching;
  }
}, 60_000);
