// `ringside detect --nats URL` without rules: the fleet's events as NDJSON, from an ordered
// (ephemeral, flow-controlled) consumer on RINGSIDE_EVENTS; a watcher from anywhere, it changes nothing.
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { unpackEvents } from './event-batch.js';
import { EVENTS_PREFIX, EVENTS_STREAM } from './subjects.js';

export interface WatchOptions {
  servers: string[];
  /** Events from the stream's start instead of from now. */
  fromStart?: boolean;
  /** Only subjects matching this filter, e.g. ringside.events.hv-07.> (default: every event). */
  filter?: string;
}

/** Calls `write` with each event's JSON until `signal` aborts. */
export async function watchEvents(
  options: WatchOptions,
  write: (json: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const nc = await connect({
    servers: options.servers,
    name: 'ringside-detect-watch',
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  try {
    const consumer = await jetstream(nc).consumers.get(EVENTS_STREAM, {
      filter_subjects: options.filter ?? `${EVENTS_PREFIX}.>`,
      deliver_policy: options.fromStart ? DeliverPolicy.All : DeliverPolicy.New,
    });
    const messages = await consumer.consume();
    signal.addEventListener('abort', () => void messages.close(), { once: true });
    for await (const message of messages)
      for (const json of unpackEvents(message.subject, message.string())) write(json);
  } finally {
    await nc.close();
  }
}
