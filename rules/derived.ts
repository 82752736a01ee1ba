// Fields computed from what an event carries rather than filled by a detector: Falco's proc.args
// (the arguments after argv[0]), proc.exe (argv[0]) and one argument `process.args[N]`.
import type { VmiEvent } from '../introspect/events/event.js';
import type { FieldDefinition } from '../introspect/events/fields.js';

type Process = { args?: unknown; command_line?: unknown } | undefined;

// The last event's split command line: every argument field of one event reads the same split
// (events are never changed once emitted, so the object identifies it).
let lastEvent: VmiEvent | undefined;
let lastSplit: string[] | undefined;

/** argv as carried, or the command line split at spaces (what a shell would have passed, mostly). */
function argv(event: VmiEvent): string[] | undefined {
  const process = (event as { process?: Process }).process;
  if (process === undefined || process === null) return undefined;
  if (Array.isArray(process.args)) return process.args as string[];
  if (typeof process.command_line !== 'string') return undefined;
  if (event !== lastEvent) {
    lastEvent = event;
    lastSplit = process.command_line.split(' ');
  }
  return lastSplit;
}

export const DERIVED_FIELDS: Readonly<Record<string, (event: VmiEvent) => unknown>> = {
  'process.arguments': (event) => argv(event)?.slice(1).join(' '),
  'process.argv0': (event) => argv(event)?.[0],
};

/** `process.args[N]`: argv[N] (auditd's aN), N below this. */
const MAX_ARGUMENT = 64;
const ARGUMENT = /^process\.args\[(\d{1,2})\]$/;

function argumentIndex(path: string): number | undefined {
  const match = ARGUMENT.exec(path);
  const index = match === null ? undefined : Number(match[1]);
  return index !== undefined && index < MAX_ARGUMENT ? index : undefined;
}

/** The catalogue entry of an indexed field (`process.args[1]`), or undefined. */
export function indexedFieldDefinition(path: string): FieldDefinition | undefined {
  const index = argumentIndex(path);
  return index === undefined
    ? undefined
    : { type: 'string', description: `argv[${index}] (auditd's a${index})` };
}

/** The getter of an indexed field, or undefined. */
export function indexedFieldGetter(path: string): ((event: VmiEvent) => unknown) | undefined {
  const index = argumentIndex(path);
  if (index === undefined) return undefined;
  // One getter per N (access.ts caches it), read by each group and rule that names the field: the
  // word is cut once per event, not once per reader.
  let last: VmiEvent | undefined;
  let answer: unknown;
  return (event) => {
    if (event === last) return answer;
    const process = (event as { process?: Process }).process;
    if (process === undefined || process === null) answer = undefined;
    else if (Array.isArray(process.args)) answer = (process.args as unknown[])[index];
    else {
      const text = process.command_line;
      answer = typeof text === 'string' ? word(text, index) : undefined;
    }
    last = event;
    return answer;
  };
}

/** `text.split(' ')[index]` without splitting the rest of a command line that may be 1,024 bytes. */
function word(text: string, index: number): string | undefined {
  let start = 0;
  for (let skipped = 0; skipped < index; skipped += 1) {
    const space = text.indexOf(' ', start);
    if (space < 0) return undefined;
    start = space + 1;
  }
  const end = text.indexOf(' ', start);
  return end < 0 ? text.slice(start) : text.slice(start, end);
}
