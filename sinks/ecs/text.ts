// The ECS JSON text of a finding written straight from the finding, with no document object in between:
// byte for byte JSON.stringify(toEcs(finding)) (a property test holds it to that), at a fraction of the cost.
import type { Finding } from '../../introspect/events/finding.js';
import type { VmiEvent } from '../../introspect/events/event.js';
import { hex, jsonSafe } from '../../introspect/events/json.js';
import {
  ECS_VERSION,
  SEVERITY_SCORE,
  categorise,
  constants,
  lastWith,
  threat,
} from './document.js';
import type { Observer } from './document.js';

/** JSON texts of the frozen parts toEcs shares between findings (threat, categorisation, observer). */
const sharedText = new WeakMap<object, string>();

function shared(value: object): string {
  let text = sharedText.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    sharedText.set(value, text);
  }
  return text;
}

const ECS_TEXT = JSON.stringify({ version: ECS_VERSION });

/** What JSON.stringify escapes in a string (lone surrogates too: it writes well-formed JSON). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * A string as JSON.stringify writes it. Most strings need no escape: one scan, then quotes around it
 * (Node 20's JSON.stringify takes about three times longer on a long command line).
 */
const quote = (text: string): string =>
  NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;

/** A value as JSON.stringify writes it (undefined for what it leaves out), strings and numbers fast. */
function json(value: unknown): string | undefined {
  if (typeof value === 'string') return quote(value);
  // A finite number's text is the same as String() gives; NaN and the infinities are null.
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  // (An array with its own toJSON, however unlikely, is left to JSON.stringify, which calls it.)
  if (Array.isArray(value) && !('toJSON' in value))
    return stringArray(value) ?? (JSON.stringify(value) as string);
  return JSON.stringify(value) as string | undefined;
}

/** An array of strings (args, tags) as JSON.stringify writes it; undefined if it holds anything else. */
function stringArray(array: readonly unknown[]): string | undefined {
  let text = '';
  for (let index = 0; index < array.length; index += 1) {
    const item = array[index];
    if (typeof item !== 'string') return undefined;
    text += index === 0 ? quote(item) : `,${quote(item)}`;
  }
  return `[${text}]`;
}

/**
 * The text being written, appended to left to right (no slicing: a slice would flatten it each time).
 * Keys come quoted; `first` says whether the object now open has no member yet.
 */
class Writer {
  text = '{';
  private first = true;

  /** A member whose value is already JSON text. */
  raw(quotedKey: string, text: string): void {
    this.text += this.first ? `${quotedKey}:${text}` : `,${quotedKey}:${text}`;
    this.first = false;
  }

  /** A member as JSON.stringify writes it: nothing for what it leaves out. */
  member(quotedKey: string, value: unknown): void {
    if (value === undefined) return;
    const text = json(value);
    if (text !== undefined) this.raw(quotedKey, text);
  }

  open(quotedKey: string): void {
    this.text += this.first ? `${quotedKey}:{` : `,${quotedKey}:{`;
    this.first = true;
  }

  close(): void {
    this.text += '}';
    this.first = false;
  }
}

function writeProcess(out: Writer, event: VmiEvent['process']): void {
  if (!event) return;
  const parentPid = event.parent?.pid ?? event.ppid;
  const parentName = event.parent?.name;
  const parentExecutable = event.parent?.executable;
  const hasParent =
    parentPid !== undefined || parentName !== undefined || parentExecutable !== undefined;
  const pid = event.pid ?? event.tgid;
  const args = event.args;
  const argsCount = args?.length;
  const commandLine = event.command_line ?? args?.join(' ');
  // toEcs leaves out an object none of whose members is set.
  if (
    pid === undefined &&
    event.name === undefined &&
    event.executable === undefined &&
    args === undefined &&
    argsCount === undefined &&
    commandLine === undefined &&
    !hasParent
  )
    return;
  out.open('"process"');
  out.member('"pid"', pid);
  out.member('"name"', event.name);
  out.member('"executable"', event.executable);
  out.member('"args"', args);
  out.member('"args_count"', argsCount);
  out.member('"command_line"', commandLine);
  if (hasParent) {
    out.open('"parent"');
    out.member('"pid"', parentPid);
    out.member('"name"', parentName);
    out.member('"executable"', parentExecutable);
    out.close();
  }
  out.close();
}

function writeUser(out: Writer, user: VmiEvent['user']): void {
  if (!user) return;
  const id = user.id?.toString();
  const group = user.group_id !== undefined ? { id: user.group_id.toString() } : undefined;
  const effective =
    user.effective_id !== undefined ? { id: user.effective_id.toString() } : undefined;
  if (id === undefined && group === undefined && effective === undefined) return;
  out.open('"user"');
  out.member('"id"', id);
  out.member('"group"', group);
  out.member('"effective"', effective);
  out.close();
}

/** The same text as JSON.stringify(toEcs(finding, observer, namespace)), member for member. */
export function ecsText(finding: Finding, observer: Observer, namespace = 'default'): string {
  const parts = constants(observer, namespace);
  const events = finding.events;
  const categorisation = categorise(events);
  // Single-event categorisations are cached (and frozen) by toEcs; the others are new each time.
  const list = events.length === 1 ? shared : JSON.stringify;
  const first = events[0];
  const processEvent = lastWith(events, 'process');
  const network = lastWith(events, 'network');
  const vmi = lastWith(events, 'vmi');
  const user = lastWith(events, 'user');
  const module = lastWith(events, 'module');
  const score = SEVERITY_SCORE[finding.severity];
  const rule = finding.rule;
  const host = finding.host;
  const mitre = threat(finding.mitre);
  const out = new Writer();

  out.member('"@timestamp"', finding.timestamp);
  out.raw('"ecs"', ECS_TEXT);
  out.member('"message"', finding.message);
  out.member('"tags"', finding.tags && finding.tags.length > 0 ? finding.tags : undefined);
  out.raw('"data_stream"', shared(parts.dataStream));

  out.open('"event"');
  out.member('"id"', finding.id);
  out.raw('"kind"', '"alert"');
  out.raw('"category"', list(categorisation.categories));
  out.raw('"type"', list(categorisation.types));
  out.member('"severity"', score);
  out.member('"risk_score"', score);
  out.raw('"module"', '"ringside"');
  out.raw('"dataset"', '"ringside.findings"');
  out.member('"provider"', first?.type);
  out.close();

  out.open('"rule"');
  out.member('"id"', rule.id);
  out.member('"uuid"', rule.id);
  out.member('"name"', rule.name);
  out.member('"description"', rule.description);
  out.member('"ruleset"', rule.ruleset);
  out.member('"version"', rule.version);
  out.close();

  if (mitre !== undefined) out.raw('"threat"', shared(mitre));

  out.open('"host"');
  out.member('"name"', host.name);
  out.member('"hostname"', host.name);
  out.member('"id"', host.id);
  out.member('"architecture"', host.architecture);
  if (host.kernel !== undefined) {
    out.open('"os"');
    out.member('"kernel"', host.kernel);
    out.close();
  }
  out.raw('"type"', '"virtual-machine"');
  out.close();

  out.raw('"observer"', shared(parts.observer));
  writeProcess(out, processEvent);
  writeUser(out, user);
  if (network?.source_ip !== undefined) {
    out.open('"source"');
    out.member('"ip"', network.source_ip);
    out.member('"port"', network.source_port);
    out.close();
  }
  if (network?.destination_ip !== undefined) {
    out.open('"destination"');
    out.member('"ip"', network.destination_ip);
    out.member('"port"', network.destination_port);
    out.close();
  }
  if (network?.transport !== undefined) {
    out.open('"network"');
    out.member('"transport"', network.transport);
    out.close();
  }

  out.open('"ringside"');
  out.member('"severity"', finding.severity);
  out.member('"domain"', first?.domain);
  out.member('"vcpu"', first?.vcpu);
  out.raw('"event_types"', list(categorisation.eventTypes));
  out.member('"event_count"', events.length);
  if (vmi) out.member('"vmi"', jsonSafe(vmi));
  if (processEvent?.task !== undefined || processEvent?.kernel_thread !== undefined) {
    out.open('"process"');
    out.member('"task"', processEvent.task !== undefined ? hex(processEvent.task) : undefined);
    out.member('"kernel_thread"', processEvent.kernel_thread);
    out.member('"tgid"', processEvent.tgid);
    out.close();
  }
  if (user?.previous_id !== undefined) {
    out.open('"user"');
    out.member('"previous_id"', user.previous_id);
    out.close();
  }
  if (module) out.member('"module"', jsonSafe(module));
  if (first?.registers) out.member('"registers"', jsonSafe(first.registers));
  if (finding.evidence) out.member('"evidence"', jsonSafe(finding.evidence));
  if (finding.actions) out.member('"actions"', jsonSafe(finding.actions));
  out.close();
  return `${out.text}}`;
}
