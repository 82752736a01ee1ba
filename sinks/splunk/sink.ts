// The Splunk HEC sink as a user configures it: the destination behind its own durable queue.
import { createQueuedSink } from '../delivery/queued-sink.js';
import type { QueuedSink, QueuedSinkOptions } from '../delivery/queued-sink.js';
import { stderrLog } from '../log.js';
import { createSplunkDestination } from './destination.js';
import type { SplunkOptions } from './destination.js';

export type SplunkSinkOptions = SplunkOptions & Omit<QueuedSinkOptions, 'destination' | 'redactor'>;

export async function createSplunkSink(options: SplunkSinkOptions): Promise<QueuedSink> {
  const log = options.log ?? stderrLog;
  const destination = createSplunkDestination({
    ...options,
    warn: (message) => log.warn(`sink: ${message}`),
  });
  // HEC has no idempotent ids: exactly once is out of reach whatever the settings; said once, at start,
  // with what the user can set (docs/sinks.md, "Delivery guarantees").
  if (options.ack?.enabled ?? true)
    log.warn(
      `sink: ${destination.name}: at least once, not exactly once: HEC has no idempotent ids, so a batch sent again after a lost answer or an acknowledgement timeout (ack.timeoutMs) is indexed twice; find copies with | dedup event.id`,
    );
  else
    log.warn(
      `sink: ${destination.name}: ack.enabled is false: a finding counts as sent on HEC's Success, before it is indexed (a loss there is not seen), and a batch sent again after a lost answer is indexed twice; enable indexer acknowledgement on the HEC token and set ack.enabled: true for indexer confirmation; find copies with | dedup event.id`,
    );
  return createQueuedSink({ ...options, destination, redactor: destination.redactor });
}
