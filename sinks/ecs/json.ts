// The JSON text of an ECS document, byte for byte what JSON.stringify gives, but with the parts
// every finding of a rule or an observer shares (threat, observer, data_stream, ecs: frozen by
// toEcs) serialised once and reused. Encoding is a sink's main cost per finding.
import type { EcsDocument } from './document.js';

const sharedJson = new WeakMap<object, string>();
const quotedKeys = new Map<string, string>();

function quoted(key: string): string {
  let text = quotedKeys.get(key);
  if (text === undefined) {
    text = JSON.stringify(key);
    if (quotedKeys.size < 1024) quotedKeys.set(key, text);
  }
  return text;
}

export function ecsJson(document: EcsDocument): string {
  let out = '{';
  for (const key in document) {
    const value = document[key];
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
    let json: string;
    if (value !== null && typeof value === 'object' && Object.isFrozen(value)) {
      const known = sharedJson.get(value);
      if (known !== undefined) json = known;
      else {
        json = JSON.stringify(value);
        sharedJson.set(value, json);
      }
    } else {
      json = JSON.stringify(value);
    }
    out += out.length === 1 ? `${quoted(key)}:${json}` : `,${quoted(key)}:${json}`;
  }
  return `${out}}`;
}
