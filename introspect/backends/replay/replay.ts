// Reads a trace file line by line and emits each decoded event; unsubscribing stops the read.
// Events are emitted as fast as they are read: replay keeps the recorded `time`, not its pacing.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Observable } from 'rxjs';
import { InputError } from '../../errors.js';
import type { VmiEvent } from '../../events/event.js';
import { decodeTraceEvent } from '../../events/trace.js';

export interface ReplayOptions {
  /** Only events of these guests. */
  domains?: readonly string[];
}

function keep(event: VmiEvent, options: ReplayOptions): boolean {
  return options.domains === undefined || options.domains.includes(event.domain);
}

/** Plays an NDJSON trace file as an Observable; a malformed line errors the stream with its line. */
export function replayTrace(path: string, options: ReplayOptions = {}): Observable<VmiEvent> {
  return new Observable<VmiEvent>((subscriber) => {
    const stream = createReadStream(path, { encoding: 'utf8' });
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    let lineNumber = 0;
    let stopped = false;
    const stop = (): void => {
      stopped = true;
      lines.close();
      stream.destroy();
    };
    lines.on('line', (raw) => {
      lineNumber += 1;
      if (stopped) return;
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      try {
        const event = decodeTraceEvent(line, path, lineNumber);
        if (keep(event, options)) subscriber.next(event);
      } catch (error) {
        stop();
        subscriber.error(error);
      }
    });
    lines.on('close', () => {
      if (!stopped) subscriber.complete();
      stopped = true;
    });
    // readline re-emits the stream's errors on the interface: both lead here, once.
    const fail = (cause: unknown): void => {
      if (stopped) return;
      stop();
      subscriber.error(new InputError('cannot read the trace', path, { cause }));
    };
    stream.on('error', fail);
    lines.on('error', fail);
    return stop;
  });
}

/** Plays trace text already in memory (tests, stdin). */
export function replayTraceText(
  text: string,
  input = 'trace',
  options: ReplayOptions = {},
): Observable<VmiEvent> {
  return new Observable<VmiEvent>((subscriber) => {
    const lines = text.split('\n');
    for (let index = 0; index < lines.length && !subscriber.closed; index += 1) {
      const line = lines[index]!.trim();
      if (line === '' || line.startsWith('#')) continue;
      let event: VmiEvent;
      try {
        event = decodeTraceEvent(line, input, index + 1);
      } catch (error) {
        subscriber.error(error);
        return;
      }
      if (keep(event, options)) subscriber.next(event);
    }
    subscriber.complete();
  });
}
