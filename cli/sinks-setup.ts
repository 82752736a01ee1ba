// The sinks a command writes findings into: stdout (ECS NDJSON, or text for a terminal) plus the
// sinks of a YAML/JSON configuration file (docs/sinks.md), users' module sinks included, fanned out.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { InputError } from '../introspect/errors.js';
import { createFanout } from '../sinks/delivery/fanout.js';
import { createStdoutSink } from '../sinks/stdout/sink.js';
import type { Sink, SinkMetrics } from '../sinks/types.js';
import { RINGSIDE_VERSION } from './version.js';

export async function openSinks(options: {
  text: boolean;
  sinksFile?: string;
  /** false: none to stdout (the terminal shows a live view instead). */
  stdout?: boolean;
}): Promise<Sink> {
  const observer = { hostname: hostname(), version: RINGSIDE_VERSION };
  const sinks: Sink[] =
    options.stdout === false
      ? []
      : [createStdoutSink({ observer, format: options.text ? 'text' : 'ecs' })];
  if (options.sinksFile) {
    let config: unknown;
    try {
      config = parseYaml(readFileSync(options.sinksFile, 'utf8'));
    } catch (error) {
      throw new InputError('cannot read the sinks configuration', options.sinksFile, {
        cause: error,
      });
    }
    // Loaded only when asked for: the network sinks' clients are heavy to import at start-up.
    const { createConfiguredSinks } = await import('../pipeline/configured-sinks.js');
    sinks.push(
      await createConfiguredSinks(config, {
        observer,
        source: options.sinksFile,
        baseDirectory: dirname(resolve(options.sinksFile)),
      }),
    );
  }
  return createFanout(sinks);
}

/** Every sink behind fan-outs, in order, with its metrics. */
function leafMetrics(sink: Sink): SinkMetrics[] {
  return 'sinks' in sink && Array.isArray(sink.sinks)
    ? (sink.sinks as readonly Sink[]).flatMap(leafMetrics)
    : [sink.metrics()];
}

/**
 * After close(): one line per sink that did not deliver everything it accepted (destination down,
 * refusals, a full disk), naming the sink and its last error. Empty when every finding was delivered.
 */
export function undeliveredLines(sink: Sink): string[] {
  return leafMetrics(sink).flatMap((metrics) => {
    const kept = metrics.queued;
    const lost = metrics.dropped;
    const refused = metrics.deadLettered;
    if (kept + lost + refused === 0) return [];
    const parts = [
      ...(kept > 0
        ? [`${kept} not delivered (still queued, sent at the next start: ringside status)`]
        : []),
      ...(refused > 0 ? [`${refused} refused (in its dead-letter file)`] : []),
      ...(lost > 0 ? [`${lost} not stored`] : []),
    ];
    const cause = metrics.lastError !== undefined ? `; last error: ${metrics.lastError}` : '';
    return [`ringside: sink ${metrics.sink}: of its findings, ${parts.join(', ')}${cause}`];
  });
}

/** Prints undeliveredLines to stderr; a sink that did not deliver is bad input (exit 2) unless worse. */
export function reportUndelivered(sink: Sink): void {
  const lines = undeliveredLines(sink);
  for (const line of lines) process.stderr.write(`${line}\n`);
  if (lines.length > 0 && !process.exitCode) process.exitCode = 2;
}
