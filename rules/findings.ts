// Turns a rule and the event(s) that fired it into a Finding: rendered output, ATT&CK techniques,
// evidence fields and the stable id. Pure: the wall clock is only a fallback, passed in.
import type { VmiEvent } from '../introspect/events/event.js';
import type { Finding } from '../introspect/events/finding.js';
import { findingId } from '../introspect/events/finding.js';
import { fieldGetter } from './access.js';
import type { LoadedRule } from './load.js';

function show(value: unknown): string {
  if (value === undefined || value === null) return '<NA>';
  if (typeof value === 'bigint') return `0x${value.toString(16)}`;
  if (Array.isArray(value)) return value.map(show).join(' ');
  return String(value);
}

/** A field's value in the newest event that has it (the steps of a sequence share the output). */
function lookup(field: string, events: readonly VmiEvent[]): unknown {
  const get = fieldGetter(field);
  for (let index = events.length - 1; index >= 0; index -= 1) {
    const value = get(events[index]!);
    if (value !== undefined && value !== null) return value;
  }
  return undefined;
}

export function renderOutput(rule: LoadedRule, events: readonly VmiEvent[]): string {
  let message = '';
  for (const part of rule.output)
    message += 'text' in part ? part.text : show(lookup(part.field, events));
  return message;
}

export interface FindingContext {
  now: () => Date;
  /** Extra evidence (correlation key, counts). */
  evidence?: Record<string, unknown>;
}

export function buildFinding(
  rule: LoadedRule,
  events: VmiEvent[],
  context: FindingContext,
): Finding {
  const last = events[events.length - 1]!;
  const evidence: Record<string, unknown> = { ...context.evidence };
  for (const field of rule.fields) {
    const value = lookup(field, events);
    if (value !== undefined) evidence[field] = value;
  }
  const finding: Omit<Finding, 'id'> = {
    timestamp: last.timestamp ?? context.now().toISOString(),
    rule: {
      id: rule.id,
      name: rule.name,
      ...(rule.description === '' ? {} : { description: rule.description }),
    },
    severity: rule.severity,
    message: renderOutput(rule, events),
    mitre: rule.mitre.map((technique) => ({ ...technique })),
    ...(rule.tags.length > 0 ? { tags: [...rule.tags] } : {}),
    host: { name: last.domain },
    events,
    ...(Object.keys(evidence).length > 0 ? { evidence } : {}),
  };
  return { id: findingId(finding), ...finding };
}
