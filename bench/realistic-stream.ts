// A realistic exec-heavy event stream and rule mix for the rule engine's benchmark: 5,000 process
// names, long command lines (some cut at 1,024 bytes), parents and paths drawn like a busy host's.
import type { VmiEvent } from '../introspect/events/event.js';
import { seededRandom as random } from '../introspect/test-support/seeded-random.js';

const STEMS = ['python', 'node', 'java', 'sh', 'bash', 'curl', 'wget', 'tar', 'gzip', 'systemd'];
const SUFFIXES = ['', '3', '-worker', 'd', '-helper', '.bin', '-cli', '-agent', '_ctl', '-sync'];
/** 5,000 distinct names: the common tools and a long tail of services and scripts. */
export const PROCESS_NAMES: readonly string[] = Array.from({ length: 5000 }, (_, index) =>
  index < 100
    ? `${STEMS[index % STEMS.length]!}${SUFFIXES[Math.floor(index / STEMS.length)]!}`
    : `svc${index}${SUFFIXES[index % SUFFIXES.length]!}`,
);
const DIRS = ['/usr/bin/', '/usr/sbin/', '/bin/', '/usr/local/bin/', '/opt/app/bin/'];
/** Programs run from /tmp are rare on a real host (and what rules look for): 1 exec in 500. */
const FROM_TMP = 0.002;
const PARENTS = ['systemd', 'bash', 'sshd', 'cron', 'nginx', 'containerd-shim', 'python3', 'java'];
const WORDS = [
  '--verbose',
  '-c',
  '--config',
  '/etc/app/conf.d/main.yaml',
  '--log-level=info',
  '-o',
];
const CAP = 1024;

/** A command line of realistic length: mostly short, a tail of very long ones (JSON, base64). */
function commandLine(name: string, pick: () => number): string {
  const parts = [name];
  const length = pick() < 0.9 ? 2 + Math.floor(pick() * 10) : 40 + Math.floor(pick() * 200);
  for (let index = 0; index < length; index += 1)
    parts.push(
      pick() < 0.7
        ? WORDS[Math.floor(pick() * WORDS.length)]!
        : `/var/lib/${name}/data-${Math.floor(pick() * 1e6).toString(36)}`,
    );
  return parts.join(' ');
}

/** `count` exec events (with a share of connects and module loads), one per call of the generator. */
export function* realisticEvents(count: number, seed = 21): Generator<VmiEvent> {
  const pick = random(seed);
  for (let index = 0; index < count; index += 1) {
    // Zipf-like: a few names are everywhere, most are rare.
    const name = PROCESS_NAMES[Math.floor(PROCESS_NAMES.length * pick() ** 3)]!;
    const full = commandLine(name, pick);
    const truncated = full.length > CAP;
    const process = {
      pid: 1000 + (index % 60000),
      ppid: 1,
      name,
      executable: `${pick() < FROM_TMP ? '/tmp/' : DIRS[Math.floor(pick() * DIRS.length)]!}${name}`,
      command_line: truncated ? full.slice(0, CAP) : full,
      command_line_truncated: truncated,
      command_line_length: full.length,
      parent: { pid: 1, name: PARENTS[Math.floor(pick() * PARENTS.length)]! },
    };
    const roll = pick();
    const base = { domain: `host-${index % 4}`, time: index * 0.01, process };
    if (roll < 0.85) yield { type: 'process.exec', ...base, user: { id: pick() < 0.2 ? 0 : 1000 } };
    else if (roll < 0.97)
      yield {
        type: 'network.connect',
        ...base,
        network: {
          destination_ip: pick() < 0.5 ? '10.1.2.3' : '203.0.113.9',
          destination_port: pick() < 0.9 ? 443 : Math.floor(pick() * 65535),
          transport: 'tcp',
        },
      };
    else yield { type: 'module.load', ...base, module: { name: `mod${Math.floor(pick() * 600)}` } };
  }
}

/**
 * A rule mix like a real pack's: equality and lists on names, path affixes, case-insensitive
 * command-line fragments, a few globs and regexes (linear-time engines), network and module rules.
 */
export function realisticRules(count: number): string {
  const pick = random(3);
  const name = (): string => PROCESS_NAMES[Math.floor(pick() * PROCESS_NAMES.length)]!;
  const lines: string[] = [];
  for (let index = 0; index < count; index += 1) {
    let condition: string;
    switch (index % 10) {
      case 0:
      case 1:
        condition = `type = process.exec and process.name = ${name()} and user.id = 0`;
        break;
      case 2:
        condition = `type = process.exec and process.name in (${name()}, ${name()}, ${name()}) and process.parent.name in (nginx, java)`;
        break;
      case 3:
        condition = `type = process.exec and process.executable startswith /tmp/${name()}`;
        break;
      case 4:
        condition = `type = process.exec and process.executable endswith /${name()}`;
        break;
      case 5:
        condition = `type = process.exec and process.command_line icontains ("--token-${index}", "base64 -d${index}")`;
        break;
      case 6:
        condition = `type = process.exec and process.command_line contains "--exploit-${index}" and process.parent.name = sshd`;
        break;
      case 7:
        condition =
          index % 20 === 7
            ? `type = process.exec and process.name = ${name()} and process.command_line glob "*-e /bin/sh*"`
            : `type = process.exec and process.name = ${name()} and process.command_line regex "(a+)+$"`;
        break;
      case 8:
        condition = `type = network.connect and network.destination_port = ${1024 + index} and process.name = ${name()}`;
        break;
      default:
        condition = `type = module.load and module.name = mod${index % 600}`;
    }
    lines.push(
      `- rule: realistic ${index}`,
      `  id: real-${index}`,
      '  severity: medium',
      `  condition: '${condition}'`,
      '  output: "%process.name (%process.pid) %process.command_line"',
    );
  }
  return lines.join('\n');
}
