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
  return createQueuedSink({ ...options, destination, redactor: destination.redactor });
}
