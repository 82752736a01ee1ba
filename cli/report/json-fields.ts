// Typed reads of untrusted JSON documents for the report's readers (ECS findings, Ringside's own
// findings, monitor events): an object or a string, or undefined, never a cast that trusts the input.
import type { Finding } from '../../introspect/events/finding.js';

export type Json = Record<string, unknown>;

export const object = (value: unknown): Json | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Json)
    : undefined;

export const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

/** A finding's rule from a document's rule object whose id was checked to be a string. */
export function ruleOf(rule: Json): Finding['rule'] {
  const id = text(rule.id)!;
  return {
    id,
    name: text(rule.name) ?? id,
    ...(text(rule.description) ? { description: text(rule.description)! } : {}),
    ...(text(rule.ruleset) ? { ruleset: text(rule.ruleset)! } : {}),
  };
}
