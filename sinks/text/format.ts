// Findings for a person at a terminal: one headline (time, severity, rule, message), then the
// evidence an analyst looks at first (process, addresses, old and new values, disassembly). Each line
// is escaped for the terminal: process, module and command strings come from the guest.
import type { VmiEvent } from '../../introspect/events/event.js';
import type { Finding } from '../../introspect/events/finding.js';
import { escapeForTerminal } from './terminal.js';

const hex = (value: unknown): string =>
  typeof value === 'bigint' ? `0x${value.toString(16)}` : String(value);

function evidenceLines(event: VmiEvent): string[] {
  const lines: string[] = [];
  const p = event.process;
  if (p?.pid !== undefined || p?.name) {
    const parent = p.parent?.name ? `, parent ${p.parent.name} (${p.parent.pid ?? '?'})` : '';
    const user = event.user?.effective_id !== undefined ? `, euid ${event.user.effective_id}` : '';
    lines.push(`process ${p.name ?? '?'} (pid ${p.pid ?? '?'}${parent}${user})`);
  }
  if (p?.command_line) lines.push(`command ${p.command_line}`);
  const v = event.vmi;
  if (v) {
    const at = [
      v.symbol && `at ${v.symbol}`,
      v.gva !== undefined && `gva ${hex(v.gva)}`,
      v.gpa !== undefined && `gpa ${hex(v.gpa)}`,
      v.rip !== undefined && `rip ${hex(v.rip)}`,
    ].filter(Boolean);
    if (at.length) lines.push(at.join(', '));
    if (v.old_value !== undefined || v.new_value !== undefined)
      lines.push(`old ${hex(v.old_value ?? '?')} → new ${hex(v.new_value ?? '?')}`);
    if (v.disassembly) {
      lines.push('code:');
      lines.push(...v.disassembly.split('\n').map((line) => `  ${line}`));
    }
  }
  if (event.module?.name)
    lines.push(
      `module ${event.module.name} at ${hex(event.module.base ?? '?')}, ${event.module.size ?? '?'} bytes${event.module.sha256 ? `, sha256 ${event.module.sha256}` : ''}`,
    );
  if (event.network?.destination_ip)
    lines.push(`to ${event.network.destination_ip}:${event.network.destination_port ?? '?'}`);
  return lines;
}

export function formatText(finding: Finding): string {
  const time = finding.timestamp.slice(11, 23);
  const head = `${time} ${finding.severity.toUpperCase().padEnd(8)} ${finding.rule.id}  ${finding.message}`;
  const last = finding.events[finding.events.length - 1];
  const mitre = finding.mitre.map((technique) => technique.id).join(', ');
  const details = [
    `guest ${finding.host.name}${mitre ? ` · ATT&CK ${mitre}` : ''}`,
    ...(last ? evidenceLines(last) : []),
    ...(finding.actions?.length
      ? [
          `actions: ${finding.actions
            .map(
              (action) =>
                `${action.name} ${action.ok ? 'done' : `FAILED (${action.error ?? '?'})`}`,
            )
            .join(', ')}`,
        ]
      : []),
  ];
  return [escapeForTerminal(head), ...details.map((line) => `    ${escapeForTerminal(line)}`)].join(
    '\n',
  );
}
