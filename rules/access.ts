// Reads a dotted field (`process.parent.name`) from an event with a closure made once per field.
// Paths come from the field catalogue and are split here; nothing is generated as code.
import type { VmiEvent } from '../introspect/events/event.js';
import { DERIVED_FIELDS, indexedFieldGetter } from './derived.js';

export type FieldGetter = (event: VmiEvent) => unknown;

type Bag = Record<string, unknown> | undefined | null;

const cache = new Map<string, FieldGetter>();

export function fieldGetter(path: string): FieldGetter {
  const known = cache.get(path) ?? DERIVED_FIELDS[path] ?? indexedFieldGetter(path);
  if (known !== undefined) {
    cache.set(path, known);
    return known;
  }
  const parts = path.split('.');
  let getter: FieldGetter;
  if (parts.length === 1) {
    const [first] = parts as [string];
    getter = (event) => (event as unknown as Record<string, unknown>)[first];
  } else if (parts.length === 2) {
    const [first, second] = parts as [string, string];
    getter = (event) => {
      const outer = (event as unknown as Record<string, Bag>)[first];
      return outer === undefined || outer === null ? undefined : outer[second];
    };
  } else if (parts.length === 3) {
    const [first, second, third] = parts as [string, string, string];
    getter = (event) => {
      const outer = (event as unknown as Record<string, Bag>)[first];
      if (outer === undefined || outer === null) return undefined;
      const inner = outer[second] as Bag;
      return inner === undefined || inner === null ? undefined : inner[third];
    };
  } else {
    getter = (event) => {
      let value: unknown = event;
      for (const part of parts) {
        if (value === undefined || value === null || typeof value !== 'object') return undefined;
        value = (value as Record<string, unknown>)[part];
      }
      return value;
    };
  }
  cache.set(path, getter);
  return getter;
}
