// `ringside detect --nats URL` without rules: the fleet's events as NDJSON, from an ordered
// (ephemeral, flow-controlled) consumer on RINGSIDE_EVENTS; a watcher from anywhere, it changes nothing.
import {
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  jetstream,
  type Consumer,
} from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { unpackEvents } from './event-batch.js';
import { EVENTS_PREFIX, EVENTS_STREAM } from './subjects.js';
import { sleepUnlessAborted } from './sleep.js';

export interface WatchOptions {
  servers: string[];
  /** Events from the stream's start instead of from now. */
  fromStart?: boolean;
  /** Only subjects matching this filter, e.g. ringside.events.hv-07.> (default: every event). */
  filter?: string;
  /** Said once while the events stream does not exist yet (no agent or worker has created it). */
  onWaiting?: (message: string) => void;
  /** How often to look for the stream meanwhile (ms). Default 1000. */
  retryMs?: number;
}

const isStreamNotFound = (error: unknown): boolean =>
  error instanceof JetStreamApiError && error.code === JetStreamApiCodes.StreamNotFound;

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
    // A watcher changes nothing, so it does not create the stream: it waits for whoever does.
    let consumer: Consumer | undefined;
    let said = false;
    while (!consumer) {
      try {
        consumer = await jetstream(nc).consumers.get(EVENTS_STREAM, {
          filter_subjects: options.filter ?? `${EVENTS_PREFIX}.>`,
          deliver_policy: options.fromStart ? DeliverPolicy.All : DeliverPolicy.New,
        });
      } catch (error) {
        if (!isStreamNotFound(error)) throw error;
        if (signal.aborted) return;
        if (!said)
          options.onWaiting?.(
            `no ${EVENTS_STREAM} stream on ${options.servers.join(',')} yet: waiting for an agent or a rules worker to create it`,
          );
        said = true;
        await sleepUnlessAborted(options.retryMs ?? 1000, signal);
        if (signal.aborted) return;
      }
    }
    const messages = await consumer.consume();
    signal.addEventListener('abort', () => void messages.close(), { once: true });
    for await (const message of messages)
      for (const json of unpackEvents(message.subject, message.string())) write(json);
  } finally {
    await nc.close();
  }
}
