// A sink module for the fleet scale bench: records, per finding, the time from its event's timestamp
// (set when the simulated guest emitted it) to its write here, as JSON in `<output>.<pid>` (one file per worker).
import { writeFileSync } from 'node:fs';
import type { Finding } from '../../introspect/events/finding.js';
import type { Sink, SinkMetrics } from '../../sinks/types.js';

export default function latencySink(options: { output?: unknown }): Sink {
  if (typeof options.output !== 'string') throw new Error('latency sink: output is required');
  const path = `${options.output}.${process.pid}`;
  const latencies: number[] = [];
  const save = (): void => writeFileSync(path, JSON.stringify(latencies));
  const timer = setInterval(save, 2000);
  return {
    name: 'latency',
    write(finding: Finding): Promise<void> {
      latencies.push(Date.now() - Date.parse(finding.timestamp));
      return Promise.resolve();
    },
    flush: () => Promise.resolve(save()),
    close(): Promise<void> {
      clearInterval(timer);
      save();
      return Promise.resolve();
    },
    metrics(): SinkMetrics {
      return {
        sink: 'latency',
        health: 'ok',
        accepted: latencies.length,
        queued: 0,
        queuedBytes: 0,
        sent: latencies.length,
        retried: 0,
        deadLettered: 0,
        dropped: 0,
      };
    },
  };
}
