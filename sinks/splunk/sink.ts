// The Splunk HEC sink as a user configures it: the destination behind its own durable queue.
import { createQueuedSink } from '../delivery/queued-sink.js';
import type { QueuedSink, QueuedSinkOptions } from '../delivery/queued-sink.js';
import { createSplunkDestination } from './destination.js';
import type { SplunkOptions } from './destination.js';

export type SplunkSinkOptions = SplunkOptions & Omit<QueuedSinkOptions, 'destination' | 'redactor'>;

export async function createSplunkSink(options: SplunkSinkOptions): Promise<QueuedSink> {
  const destination = createSplunkDestination(options);
  return createQueuedSink({ ...options, destination, redactor: destination.redactor });
}
