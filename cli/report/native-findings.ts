// Reads a finding back from Ringside's own JSON (what `rules run` and `detect` print without sinks),
// checked field by field and its events decoded as trace events: a report never renders an unchecked shape.
import type { VmiEvent } from '../../introspect/events/event.js';
import {
  SEVERITIES,
  type AttackTechnique,
  type Finding,
  type Severity,
} from '../../introspect/events/finding.js';
import { decodeTraceEvent } from '../../introspect/events/trace.js';
import { object, ruleOf, text, type Json } from './json-fields.js';

/** Events one finding may carry (a sequence's steps, a threshold's hits). */
const MAX_FINDING_EVENTS = 1000;

/** Whether a JSON line is in Ringside's own finding format (an events array, a top-level severity). */
export const isNativeFinding = (document: Json): boolean =>
  Array.isArray(document.events) && typeof document.severity === 'string';

/** One native finding, or a message saying what is wrong with it. */
export function findingFromNative(document: Json): Finding | string {
  const rule = object(document.rule);
  const id = text(document.id);
  const timestamp = text(document.timestamp);
  const severity = text(document.severity) as Severity | undefined;
  if (!id) return 'no id';
  if (!rule || !text(rule.id)) return 'no rule.id';
  if (!timestamp) return 'no timestamp';
  if (!severity || !SEVERITIES.includes(severity)) return 'no valid severity';
  const rawEvents = document.events as unknown[];
  if (rawEvents.length === 0 || rawEvents.length > MAX_FINDING_EVENTS)
    return `events: expected 1 to ${MAX_FINDING_EVENTS}, found ${rawEvents.length}`;
  const events: VmiEvent[] = [];
  for (const [index, raw] of rawEvents.entries()) {
    try {
      events.push(decodeTraceEvent(JSON.stringify(raw), 'finding', index + 1));
    } catch (error) {
      return `events[${index}]: ${(error as Error).message.replace(/^finding: line \d+: /, '')}`;
    }
  }
  const mitre: AttackTechnique[] = [];
  for (const technique of Array.isArray(document.mitre) ? document.mitre : []) {
    const entry = object(technique);
    const techniqueId = text(entry?.id);
    if (!techniqueId) return 'mitre: an entry without an id';
    const name = text(entry?.name);
    mitre.push(name ? { id: techniqueId, name } : { id: techniqueId });
  }
  const evidence = object(document.evidence);
  const tags = Array.isArray(document.tags)
    ? document.tags.filter((tag): tag is string => typeof tag === 'string')
    : undefined;
  return {
    id,
    timestamp,
    rule: ruleOf(rule),
    severity,
    message: text(document.message) ?? '',
    mitre,
    ...(tags ? { tags } : {}),
    host: { name: text(object(document.host)?.name) ?? events[0]!.domain },
    events,
    ...(evidence ? { evidence } : {}),
  };
}
