// The syslog sink as a user configures it: the destination behind its own durable queue.
import { createQueuedSink } from '../delivery/queued-sink.js';
import type { QueuedSink, QueuedSinkOptions } from '../delivery/queued-sink.js';
import { createSyslogDestination } from './destination.js';
import type { SyslogOptions } from './destination.js';

export type SyslogSinkOptions = SyslogOptions & Omit<QueuedSinkOptions, 'destination'>;

export async function createSyslogSink(options: SyslogSinkOptions): Promise<QueuedSink> {
  return createQueuedSink({ ...options, destination: createSyslogDestination(options) });
}
