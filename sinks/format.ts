// The document formats a line-oriented sink (stdout, file) can write: ECS (default), OCSF, or text
// for a person at a terminal.
import type { Finding } from '../introspect/events/finding.js';
import { ecsText } from './ecs/text.js';
import type { Observer } from './ecs/document.js';
import { toOcsf } from './ocsf/detection-finding.js';
import { formatText } from './text/format.js';

export type DocumentFormat = 'ecs' | 'ocsf' | 'text';

export const DOCUMENT_FORMATS: readonly DocumentFormat[] = ['ecs', 'ocsf', 'text'];

export function formatter(
  format: DocumentFormat,
  observer: Observer,
): (finding: Finding) => string {
  if (format === 'text') return formatText;
  if (format === 'ocsf') return (finding) => JSON.stringify(toOcsf(finding, observer));
  return (finding) => ecsText(finding, observer);
}
