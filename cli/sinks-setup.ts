// The sinks a command writes findings into: stdout (ECS NDJSON, or text for a terminal) plus the
// sinks of a YAML/JSON configuration file (docs/sinks.md), users' module sinks included, fanned out.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { InputError } from '../introspect/errors.js';
import { createFanout } from '../sinks/delivery/fanout.js';
import { createStdoutSink } from '../sinks/stdout/sink.js';
import type { Sink } from '../sinks/types.js';
import { RINGSIDE_VERSION } from './version.js';

export async function openSinks(options: { text: boolean; sinksFile?: string }): Promise<Sink> {
  const observer = { hostname: hostname(), version: RINGSIDE_VERSION };
  const sinks: Sink[] = [createStdoutSink({ observer, format: options.text ? 'text' : 'ecs' })];
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
