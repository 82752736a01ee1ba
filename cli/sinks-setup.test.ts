// Tests of what a command says after closing its sinks: one line per sink that did not deliver
// everything, through nested fan-outs, and nothing when all arrived.
import { createFanout } from '../sinks/delivery/fanout.js';
import { silentLog } from '../sinks/log.js';
import type { Sink, SinkMetrics } from '../sinks/types.js';
import { undeliveredLines } from './sinks-setup.js';

const sinkWith = (metrics: Partial<SinkMetrics> & { sink: string }): Sink => ({
  name: metrics.sink,
  write: () => Promise.resolve(),
  flush: () => Promise.resolve(),
  close: () => Promise.resolve(),
  metrics: () => ({
    health: 'closed',
    accepted: 10,
    queued: 0,
    queuedBytes: 0,
    sent: 10,
    retried: 0,
    deadLettered: 0,
    dropped: 0,
    ...metrics,
  }),
});

describe('undeliveredLines', () => {
  it('names each sink that kept, refused or lost findings, with its last error, through nested fan-outs', () => {
    const stdout = sinkWith({ sink: 'stdout' });
    const configured = createFanout(
      [
        sinkWith({
          sink: 'elasticsearch:es:9200',
          queued: 7,
          sent: 3,
          lastError: 'connect ECONNREFUSED 127.0.0.1:9200',
        }),
        sinkWith({ sink: 'splunk:hec:8088' }),
        sinkWith({ sink: 'syslog:tcp://soc:6514', deadLettered: 2, dropped: 1, sent: 7 }),
      ],
      silentLog,
    );
    expect(undeliveredLines(createFanout([stdout, configured], silentLog))).toEqual([
      'ringside: sink elasticsearch:es:9200: of its findings, 7 not delivered (still queued, sent at the next start: ringside status); last error: connect ECONNREFUSED 127.0.0.1:9200',
      'ringside: sink syslog:tcp://soc:6514: of its findings, 2 refused (in its dead-letter file), 1 not stored',
    ]);
  });

  it('says nothing when every finding arrived', () => {
    expect(
      undeliveredLines(createFanout([sinkWith({ sink: 'stdout' }), sinkWith({ sink: 'file' })])),
    ).toEqual([]);
  });
});
