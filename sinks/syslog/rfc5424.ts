// RFC 5424 syslog messages: the header fields limited to printable US-ASCII and their maximum lengths,
// structured data with its escaping (\ " ] inside PARAM-VALUE), and the finding's severity as PRI.
// Pure functions over strings.
import type { Severity } from '../../introspect/events/finding.js';

/** Syslog severities per finding severity (RFC 5424 §6.2.1: 2 crit … 6 info). */
export const SYSLOG_SEVERITY: Readonly<Record<Severity, number>> = {
  critical: 2,
  high: 3,
  medium: 4,
  low: 5,
  informational: 6,
};

export interface StructuredDataElement {
  /** SD-ID: a registered name or name@<private enterprise number>. */
  id: string;
  params: readonly (readonly [string, string | number | undefined])[];
}

export interface SyslogMessage {
  /** 0–23; 16 is local0. */
  facility: number;
  /** 0–7. */
  severity: number;
  /** RFC 3339 timestamp. */
  timestamp: string;
  hostname?: string;
  appName?: string;
  procId?: string;
  msgId?: string;
  structuredData?: readonly StructuredDataElement[];
  message?: string;
}

/** A header field: printable US-ASCII (33–126) only, at most `max` characters, "-" when empty. */
export function headerField(value: string | undefined, max: number): string {
  if (value === undefined) return '-';
  const printable = value.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return printable === '' ? '-' : printable;
}

/** SD-NAME (SD-ID or PARAM-NAME): printable US-ASCII except = space ] " and at most 32 characters. */
export function sdName(value: string): string {
  return value.replace(/[^\x21-\x7e]|[= \]"]/g, '_').slice(0, 32) || '_';
}

/** PARAM-VALUE escaping of RFC 5424 §6.3.3: backslash, double quote and closing bracket. */
export function escapeParamValue(value: string): string {
  return value.replace(/[\\"\]]/g, (character) => `\\${character}`);
}

export function formatStructuredData(
  elements: readonly StructuredDataElement[] | undefined,
): string {
  if (!elements || elements.length === 0) return '-';
  return elements
    .map((element) => {
      const [name, enterprise] = element.id.split('@');
      const id =
        enterprise !== undefined
          ? `${sdName(name!)}@${enterprise.replace(/[^0-9.]/g, '')}`
          : sdName(element.id);
      const params = element.params
        .filter(([, value]) => value !== undefined && value !== '')
        .map(([key, value]) => ` ${sdName(key)}="${escapeParamValue(String(value))}"`)
        .join('');
      return `[${id}${params}]`;
    })
    .join('');
}

export function formatRfc5424(message: SyslogMessage): string {
  const pri =
    Math.max(0, Math.min(23, message.facility)) * 8 + Math.max(0, Math.min(7, message.severity));
  const header = [
    `<${pri}>1`,
    headerField(message.timestamp, 64),
    headerField(message.hostname, 255),
    headerField(message.appName, 48),
    headerField(message.procId, 128),
    headerField(message.msgId, 32),
    formatStructuredData(message.structuredData),
  ].join(' ');
  // Newlines would split the message for receivers that frame by line; keep it on one line.
  const body = message.message?.replace(/\r?\n/g, ' ');
  return body === undefined || body === '' ? header : `${header} ${body}`;
}
