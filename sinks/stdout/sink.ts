// Findings as NDJSON on standard output (or any writable stream): one document per line. Respects the
// stream's back-pressure: write() resolves once the line is handed to the stream and it is not full.
import type { Writable } from 'node:stream';
import type { Finding } from '../../introspect/events/finding.js';
import type { Observer } from '../ecs/document.js';
import { SinkError } from '../errors.js';
import { formatter } from '../format.js';
import type { DocumentFormat } from '../format.js';
import type { Sink, SinkMetrics } from '../types.js';

export interface StdoutSinkOptions {
  observer: Observer;
  format?: DocumentFormat;
  /** Default process.stdout. */
  stream?: Writable;
}

export function createStdoutSink(options: StdoutSinkOptions): Sink {
  const stream = options.stream ?? process.stdout;
  const format = formatter(options.format ?? 'ecs', options.observer);
  let accepted = 0;
  let sent = 0;
  let closed = false;
  let lastError: string | undefined;
  const waitForDrain = (): Promise<void> =>
    stream.writableNeedDrain
      ? new Promise((resolve) => stream.once('drain', () => resolve()))
      : Promise.resolve();

  return {
    name: options.format && options.format !== 'ecs' ? `stdout:${options.format}` : 'stdout',
    async write(finding: Finding): Promise<void> {
      if (closed) throw new SinkError('stdout', 'QUEUE_CLOSED', 'write after close');
      const line = `${format(finding)}\n`;
      accepted += 1;
      await new Promise<void>((resolve, reject) =>
        stream.write(line, (error) => {
          if (error) {
            lastError = error.message;
            reject(
              new SinkError('stdout', 'UNAVAILABLE', `cannot write finding ${finding.id}`, {
                cause: error,
              }),
            );
          } else resolve();
        }),
      );
      sent += 1;
      await waitForDrain();
    },
    flush: waitForDrain,
    async close(): Promise<void> {
      closed = true;
      await waitForDrain();
    },
    metrics(): SinkMetrics {
      return {
        sink: 'stdout',
        health: closed ? 'closed' : lastError ? 'failing' : 'ok',
        accepted,
        queued: accepted - sent,
        queuedBytes: 0,
        sent,
        retried: 0,
        deadLettered: 0,
        dropped: 0,
        ...(lastError ? { lastError } : {}),
      };
    },
  };
}
