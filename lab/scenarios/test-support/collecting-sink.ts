// A real stdout sink writing into memory: tests see exactly the lines a SIEM would receive.
import { Writable } from 'node:stream';
import { createStdoutSink } from '../../../sinks/stdout/sink.js';
import type { Sink } from '../../../sinks/types.js';

export function collectingSink(): { sink: Sink; lines: string[] } {
  const lines: string[] = [];
  const sink = createStdoutSink({
    observer: { hostname: 'ci', version: 'test' },
    stream: new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
  });
  return { sink, lines };
}
