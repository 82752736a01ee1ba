// ArcSight Common Event Format: "CEF:0|vendor|product|version|signature|name|severity|extension".
// Header fields escape \ and |; extension values escape \ and = and encode newlines as \n and \r.
import type { Finding, Severity } from '../../introspect/events/finding.js';
import type { Observer } from '../ecs/document.js';

/** CEF severity 0–10 per finding severity. */
export const CEF_SEVERITY: Readonly<Record<Severity, number>> = {
  informational: 1,
  low: 3,
  medium: 5,
  high: 8,
  critical: 10,
};

export function escapeCefHeader(value: string): string {
  return value.replace(/[\\|]/g, (character) => `\\${character}`).replace(/\r?\n|\r/g, ' ');
}

export function escapeCefValue(value: string): string {
  return value
    .replace(/[\\=]/g, (character) => `\\${character}`)
    .replace(/\r\n|\n/g, '\\n')
    .replace(/\r/g, '\\r');
}

/** Extension keys: alphanumeric only (CEF keys cannot be escaped). */
const cefKey = (key: string): string => key.replace(/[^A-Za-z0-9]/g, '');

export function formatCefExtension(
  pairs: readonly (readonly [string, string | number | undefined])[],
): string {
  return pairs
    .filter(([, value]) => value !== undefined && value !== '')
    .map(([key, value]) => `${cefKey(key)}=${escapeCefValue(String(value))}`)
    .join(' ');
}

export function formatCef(finding: Finding, observer: Observer): string {
  const process = [...finding.events].reverse().find((event) => event.process)?.process;
  const user = [...finding.events].reverse().find((event) => event.user)?.user;
  const tactics = [
    ...new Set(
      finding.mitre.flatMap((technique) => (technique.tactic ? [technique.tactic.id] : [])),
    ),
  ];
  const header = [
    'CEF:0',
    escapeCefHeader('Ringside'),
    escapeCefHeader('Ringside'),
    escapeCefHeader(observer.version),
    escapeCefHeader(finding.rule.id),
    escapeCefHeader(finding.rule.name),
    String(CEF_SEVERITY[finding.severity]),
  ].join('|');
  const extension = formatCefExtension([
    ['rt', Date.parse(finding.timestamp)],
    ['externalId', finding.id],
    ['msg', finding.message],
    ['dvchost', observer.hostname],
    ['dhost', finding.host.name],
    ['cat', finding.rule.ruleset],
    ['dproc', process?.name],
    ['dpid', process?.pid ?? process?.tgid],
    ['filePath', process?.executable],
    ['duid', user?.id],
    ['cs1Label', finding.mitre.length > 0 ? 'mitreTechniques' : undefined],
    ['cs1', finding.mitre.map((technique) => technique.id).join(',')],
    ['cs2Label', tactics.length > 0 ? 'mitreTactics' : undefined],
    ['cs2', tactics.join(',')],
    ['cs3Label', 'eventTypes'],
    ['cs3', [...new Set(finding.events.map((event) => event.type))].join(',')],
    ['cs4Label', 'guestDomain'],
    ['cs4', finding.events[0]?.domain],
    ['cn1Label', finding.events[0]?.vcpu !== undefined ? 'vcpu' : undefined],
    ['cn1', finding.events[0]?.vcpu],
  ]);
  return `${header}|${extension}`;
}
