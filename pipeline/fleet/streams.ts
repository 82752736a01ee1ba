// The two JetStream streams of fleet mode, created or brought to the configured shape at start with
// explicit retention, replicas, limits and duplicate window (nothing left to the server's defaults).
import {
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { EVENTS_PREFIX, EVENTS_STREAM, FINDINGS_PREFIX, FINDINGS_STREAM } from './subjects.js';

export interface StreamLimits {
  /** Copies of each message across the cluster (1, 3 or 5). */
  replicas: number;
  /** Bytes kept per stream; when full, publishing is refused (discard new) and the agent buffers. */
  maxBytes: number;
  /** How long a message is kept, seconds. */
  maxAgeSeconds: number;
  /** The window in which a re-sent Nats-Msg-Id is dropped, seconds. */
  duplicateWindowSeconds: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = {
  replicas: 3,
  maxBytes: 1 << 30,
  maxAgeSeconds: 7 * 24 * 3600,
  duplicateWindowSeconds: 120,
};

export function streamConfigs(
  limits: StreamLimits,
): Array<Partial<StreamConfig> & { name: string }> {
  const common = {
    // Limits, not work-queue: several consumers (rule workers, watchers) read the same events.
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: limits.replicas,
    max_bytes: limits.maxBytes,
    max_age: nanos(limits.maxAgeSeconds * 1000),
    duplicate_window: nanos(limits.duplicateWindowSeconds * 1000),
    // A full stream refuses new messages (they stay in the agent's disk buffer) rather than
    // silently dropping old ones no worker has read yet.
    discard: DiscardPolicy.New,
  };
  return [
    { name: EVENTS_STREAM, subjects: [`${EVENTS_PREFIX}.>`], ...common },
    { name: FINDINGS_STREAM, subjects: [`${FINDINGS_PREFIX}.>`], ...common },
  ];
}

/** Creates the streams, or updates them to these limits when they exist. */
export async function ensureStreams(jsm: JetStreamManager, limits: StreamLimits): Promise<void> {
  for (const config of streamConfigs(limits)) {
    const existing = await jsm.streams.info(config.name).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (!existing) await jsm.streams.add(config);
    else await jsm.streams.update(config.name, config);
  }
}

const isNotFound = (error: unknown): boolean =>
  error instanceof Error && /not found/i.test(error.message);
