// The document formats a line-oriented sink (stdout, file) can write: ECS (default) or OCSF.
import type { Finding } from '../introspect/events/finding.js';
import { toEcs } from './ecs/document.js';
import type { Observer } from './ecs/document.js';
import { toOcsf } from './ocsf/detection-finding.js';

export type DocumentFormat = 'ecs' | 'ocsf';

export function formatter(
  format: DocumentFormat,
  observer: Observer,
): (finding: Finding) => string {
  if (format === 'ocsf') return (finding) => JSON.stringify(toOcsf(finding, observer));
  return (finding) => JSON.stringify(toEcs(finding, observer));
}
