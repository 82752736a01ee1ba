// Fields computed from what an event carries rather than filled by a detector: Falco's proc.args
// (the arguments after argv[0]) and proc.exe (argv[0]), from argv or else the command line.
import type { VmiEvent } from '../introspect/events/event.js';

type Process = { args?: unknown; command_line?: unknown } | undefined;

/** argv as carried, or the command line split at spaces (what a shell would have passed, mostly). */
function argv(event: VmiEvent): string[] | undefined {
  const process = (event as { process?: Process }).process;
  if (process === undefined || process === null) return undefined;
  if (Array.isArray(process.args)) return process.args as string[];
  return typeof process.command_line === 'string' ? process.command_line.split(' ') : undefined;
}

export const DERIVED_FIELDS: Readonly<Record<string, (event: VmiEvent) => unknown>> = {
  'process.arguments': (event) => argv(event)?.slice(1).join(' '),
  'process.argv0': (event) => argv(event)?.[0],
};
