// Fan-out: one finding to several sinks, each with its own queue and health. A sink that fails a write
// is logged with the finding's id and counted; the others still get it. Itself a Sink (a wrapper).
import type { Finding } from '../../introspect/events/finding.js';
import { stderrLog } from '../log.js';
import type { SinkLog } from '../log.js';
import type { Sink, SinkHealth, SinkMetrics } from '../types.js';

export interface Fanout extends Sink {
  readonly sinks: readonly Sink[];
  /** Metrics of every sink, in order. */
  all(): SinkMetrics[];
}

const WORST: readonly SinkHealth[] = ['ok', 'retrying', 'failing', 'closed'];

export function createFanout(sinks: readonly Sink[], log: SinkLog = stderrLog): Fanout {
  let failedWrites = 0;
  const all = (): SinkMetrics[] => sinks.map((sink) => sink.metrics());
  return {
    name: 'fanout',
    sinks,
    all,
    /**
     * Resolves once every sink accepted the finding (on disk for queued sinks). Rejects only when no
     * sink took it; a partial failure is logged per sink and counted in `dropped` of the fan-out.
     */
    async write(finding: Finding): Promise<void> {
      const outcomes = await Promise.allSettled(sinks.map((sink) => sink.write(finding)));
      const failures = outcomes.flatMap((outcome, index) =>
        outcome.status === 'rejected'
          ? [{ sink: sinks[index]!.name, reason: outcome.reason as unknown }]
          : [],
      );
      if (failures.length === 0) return;
      failedWrites += failures.length;
      for (const failure of failures)
        log.error('fanout: a sink did not take the finding', {
          sink: failure.sink,
          id: finding.id,
          error: failure.reason instanceof Error ? failure.reason.message : String(failure.reason),
        });
      if (failures.length === sinks.length) throw failures[0]!.reason;
    },
    async flush(): Promise<void> {
      await Promise.all(sinks.map((sink) => sink.flush()));
    },
    async close(): Promise<void> {
      const outcomes = await Promise.allSettled(sinks.map((sink) => sink.close()));
      const failed = outcomes.find((outcome) => outcome.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    },
    metrics(): SinkMetrics {
      const each = all();
      const sum = (
        key:
          'accepted' | 'queued' | 'queuedBytes' | 'sent' | 'retried' | 'deadLettered' | 'dropped',
      ) => each.reduce((total, metrics) => total + metrics[key], 0);
      return {
        sink: 'fanout',
        health: each.reduce<SinkHealth>(
          (worst, metrics) =>
            WORST.indexOf(metrics.health) > WORST.indexOf(worst) ? metrics.health : worst,
          'ok',
        ),
        accepted: sum('accepted'),
        queued: sum('queued'),
        queuedBytes: sum('queuedBytes'),
        sent: sum('sent'),
        retried: sum('retried'),
        deadLettered: sum('deadLettered'),
        dropped: sum('dropped') + failedWrites,
      };
    },
  };
}
