// Falco packs' event selectors and constants on Ringside's events: evt.type mapped to event types,
// evt.dir / evt.res / evt.num as the constants they are here, fd.snet as cidr, derived proc.args.
import type { VmiEvent } from '../introspect/events/event.js';
import type { Finding } from '../introspect/events/finding.js';
import { Detector } from './detector.js';
import { formatDiagnostic } from './diagnostics.js';
import { loadRuleFiles } from './load.js';

// Written here in the shape of falcosecurity/rules (macros, lists, exceptions as macros).
const pack = `
- macro: spawned_process
  condition: (evt.type in (execve, execveat) and evt.dir = "<")
- macro: never_true
  condition: (evt.num=0)
- macro: always_true
  condition: (evt.num>=0)
- macro: user_known_shell_in_container
  condition: (never_true)
- macro: container
  condition: (container.id != host)
- list: shell_binaries
  items: [ash, bash, csh, ksh, sh, tcsh, zsh, dash]
- rule: Run shell with -c
  desc: a shell started with a script on its command line
  condition: spawned_process and proc.name in (shell_binaries) and proc.args startswith "-c " and not user_known_shell_in_container and always_true
  output: "shell %proc.exe run with %proc.args by %user.uid (%evt.type)"
  priority: WARNING
- rule: Outbound to C2 port
  desc: a connection to a port no service here uses
  condition: evt.type = connect and (evt.rawres >= 0 or evt.res = EINPROGRESS) and fd.sport = 4444 and not fd.snet in ("10.0.0.0/8", "192.168.0.0/16")
  output: "%proc.name connected to %fd.rip:%fd.rport"
  priority: CRITICAL
- rule: Read sensitive file
  desc: not observable by Ringside (no file events)
  condition: evt.type in (open, openat) and proc.name = cat
  output: "%proc.name read a file"
  priority: WARNING
- rule: Write below etc
  desc: needs the file opened (fd.name), which Ringside does not observe either
  condition: spawned_process and fd.name startswith /etc
  output: "%proc.name wrote %fd.name"
  priority: ERROR
- rule: Ptrace attach
  desc: a syscall Ringside does not observe, and not a file event
  condition: evt.type = ptrace and proc.name = gdb
  priority: WARNING
`;

function run(events: VmiEvent[]): Finding[] {
  const result = loadRuleFiles([{ file: 'falco.yaml', text: pack }]);
  const detector = new Detector(result.ruleset, { now: () => new Date(0) });
  const findings: Finding[] = [];
  for (const event of events) detector.process(event, (finding) => findings.push(finding));
  return findings;
}

describe('Falco event selectors', () => {
  it('loads the rules whose events Ringside observes and refuses the other with one reason', () => {
    const result = loadRuleFiles([{ file: 'falco.yaml', text: pack }]);
    expect(result.ruleset.rules.map((rule) => rule.name)).toEqual([
      'Run shell with -c',
      'Outbound to C2 port',
    ]);
    const errors = result.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic);
    expect(errors).toEqual([
      expect.stringMatching(
        /^falco\.yaml:26:14: error NEEDS_FILE_EVENTS: evt\.type open, openat: file events, which Ringside does not observe/,
      ),
      expect.stringMatching(
        /^falco\.yaml:31:34: error NEEDS_FILE_EVENTS: 'fd\.name' \(Falco\) needs file events/,
      ),
      expect.stringMatching(/^falco\.yaml:36:14: error UNOBSERVED_EVENT: evt\.type ptrace/),
    ]);
    // The output template's fd.name is a warning with the same code, not a second error.
    expect(result.diagnostics.map(formatDiagnostic)).toContainEqual(
      expect.stringMatching(/^falco\.yaml:32:\d+: warning NEEDS_FILE_EVENTS: 'fd\.name'/),
    );
    expect(result.notLoaded).toEqual([
      expect.objectContaining({ name: 'Read sensitive file', codes: ['NEEDS_FILE_EVENTS'] }),
      expect.objectContaining({ name: 'Write below etc', codes: ['NEEDS_FILE_EVENTS'] }),
      expect.objectContaining({ name: 'Ptrace attach', codes: ['UNOBSERVED_EVENT'] }),
    ]);
  });

  it('fires on exec and connect events as Falco would on execve and connect', () => {
    const findings = run([
      {
        type: 'process.exec',
        domain: 'g',
        time: 0,
        process: { pid: 7, name: 'bash', args: ['/bin/bash', '-c', 'id'] },
        user: { id: 0 },
      },
      {
        type: 'process.exec',
        domain: 'g',
        time: 1,
        process: { pid: 8, name: 'bash', command_line: 'bash script.sh' },
      },
      {
        type: 'network.connect',
        domain: 'g',
        time: 2,
        process: { pid: 9, name: 'nc' },
        network: { destination_ip: '203.0.113.9', destination_port: 4444, transport: 'tcp' },
      },
      {
        type: 'network.connect',
        domain: 'g',
        time: 3,
        process: { pid: 9, name: 'nc' },
        network: { destination_ip: '10.1.2.3', destination_port: 4444, transport: 'tcp' },
      },
      { type: 'module.load', domain: 'g', time: 4, module: { name: 'bash' } },
    ]);
    expect(findings.map((finding) => finding.message)).toEqual([
      'shell /bin/bash run with -c id by 0 (process.exec)',
      'nc connected to 203.0.113.9:4444',
    ]);
  });

  it('refuses evt.num compared with anything but 0, with its location', () => {
    const result = loadRuleFiles([
      {
        file: 'num.yaml',
        text: '- rule: r\n  desc: d\n  condition: evt.num > 5\n  output: o\n  priority: INFO\n',
      },
    ]);
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      expect.stringMatching(/^num\.yaml:3:14: error TYPE_MISMATCH: evt\.num > 5/),
    ]);
  });
});
