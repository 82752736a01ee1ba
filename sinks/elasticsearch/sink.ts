// The Elasticsearch sink as a user configures it: the destination behind its own durable queue.
import { createQueuedSink } from '../delivery/queued-sink.js';
import type { QueuedSink, QueuedSinkOptions } from '../delivery/queued-sink.js';
import { createElasticsearchDestination } from './destination.js';
import type { ElasticsearchOptions } from './destination.js';

export type ElasticsearchSinkOptions = ElasticsearchOptions &
  Omit<QueuedSinkOptions, 'destination' | 'redactor'>;

export async function createElasticsearchSink(
  options: ElasticsearchSinkOptions,
): Promise<QueuedSink> {
  const destination = createElasticsearchDestination(options);
  return createQueuedSink({ ...options, destination, redactor: destination.redactor });
}
