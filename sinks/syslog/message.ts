// A finding as one syslog message: RFC 5424 with the finding as structured data, or with a CEF payload.
import type { Finding } from '../../introspect/events/finding.js';
import type { Observer } from '../ecs/document.js';
import { formatCef } from './cef.js';
import { SYSLOG_SEVERITY, formatRfc5424 } from './rfc5424.js';

export type SyslogFormat = 'structured' | 'cef';

export interface SyslogMessageOptions {
  format: SyslogFormat;
  observer: Observer;
  /** Default 16 (local0). */
  facility?: number;
  appName?: string;
  /** Private enterprise number of the SD-ID ringside@<pen>. Default 32473 (the documentation PEN). */
  enterpriseId?: number;
}

export function formatFindingSyslog(finding: Finding, options: SyslogMessageOptions): string {
  const base = {
    facility: options.facility ?? 16,
    severity: SYSLOG_SEVERITY[finding.severity],
    timestamp: finding.timestamp,
    hostname: options.observer.hostname,
    appName: options.appName ?? 'ringside',
    procId: String(process.pid),
  };
  if (options.format === 'cef')
    return formatRfc5424({ ...base, msgId: 'CEF', message: formatCef(finding, options.observer) });
  const processFields = [...finding.events].reverse().find((event) => event.process)?.process;
  const tactics = [
    ...new Set(
      finding.mitre.flatMap((technique) => (technique.tactic ? [technique.tactic.id] : [])),
    ),
  ];
  return formatRfc5424({
    ...base,
    msgId: 'finding',
    structuredData: [
      {
        id: `ringside@${options.enterpriseId ?? 32473}`,
        params: [
          ['id', finding.id],
          ['rule', finding.rule.id],
          ['ruleName', finding.rule.name],
          ['severity', finding.severity],
          ['guest', finding.host.name],
          ['domain', finding.events[0]?.domain],
          ['vcpu', finding.events[0]?.vcpu],
          ['technique', finding.mitre.map((technique) => technique.id).join(',')],
          ['tactic', tactics.join(',')],
          ['pid', processFields?.pid],
          ['process', processFields?.name],
        ],
      },
    ],
    message: finding.message,
  });
}
