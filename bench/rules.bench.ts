// Rule engine throughput, end to end through the RxJS operator (findings built and emitted), on one
// core: 100 and 1,000 generated rules over realistic events of which about 1% match; then the memory
// of a sequence rule's state under a flood of distinct keys (it must stay flat once at its cap).
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { from } from 'rxjs';
import type { VmiEvent } from '../introspect/events/event.js';
import { detect } from '../rules/detect.js';
import type { Checked } from '../rules/check.js';
import { CompileContext, compileCondition } from '../rules/compile.js';
import type { Predicate } from '../rules/compile.js';
import { RuleEngine } from '../rules/engine.js';
import { formatDiagnostic } from '../rules/diagnostics.js';
import { loadRuleFiles } from '../rules/load.js';
import { realisticEvents, realisticRules } from './realistic-stream.js';
import type { Ruleset } from '../rules/load.js';
import { seededRandom as random } from '../introspect/test-support/seeded-random.js';
import { SubstringIndex } from '../rules/substrings.js';

const NAMES = Array.from({ length: 4000 }, (_, index) => `proc${index}`);
const RULE_NAMES = NAMES.slice(0, 1000);
const PARENTS = ['systemd', 'bash', 'sshd', 'cron', 'nginx', 'containerd-shim', 'python3', 'java'];
const DIRS = Array.from({ length: 400 }, (_, index) => `/opt/app${index}/`);
const SYMBOLS = Array.from({ length: 300 }, (_, index) => `kfunc_${index}`);
const MODULES = Array.from({ length: 600 }, (_, index) => `mod${index}`);

/** Rules shaped like real ones: most anchored on a name, path, port or symbol, some free text. */
function generateRules(count: number): string {
  const pick = random(7);
  const any = <T>(items: readonly T[]): T => items[Math.floor(pick() * items.length)]!;
  const lines: string[] = [
    '- list: admin_parents',
    '  items: [sshd, sudo, su]',
    '- macro: spawned',
    '  condition: type = process.exec',
  ];
  for (let index = 0; index < count; index += 1) {
    let condition: string;
    switch (index % 20) {
      case 0:
      case 1:
      case 2:
      case 3:
      case 4:
      case 5:
        condition = `spawned and process.name = ${NAMES[index % 1000]!} and not process.parent.name in (admin_parents)`;
        break;
      case 6:
      case 7:
        condition = `spawned and process.name in (${NAMES[index % 1000]!}, ${NAMES[(index * 7) % 1000]!}) and user.id = 0`;
        break;
      case 8:
      case 9:
        condition = `spawned and process.executable startswith ${DIRS[index % DIRS.length]!} and process.parent.name = ${any(PARENTS)}`;
        break;
      case 10:
      case 11:
        condition = `type = network.connect and network.destination_port = ${20000 + index} and not network.destination_ip cidr (10.0.0.0/8, 192.168.0.0/16)`;
        break;
      case 12:
      case 13:
        condition = `type = module.load and module.name in (${MODULES[index % MODULES.length]!}, ${MODULES[(index * 3) % MODULES.length]!})`;
        break;
      case 14:
      case 15:
        condition = `type = kernel.write and vmi.symbol startswith ${SYMBOLS[index % SYMBOLS.length]!}+ and vmi.size >= 8`;
        break;
      case 16:
        condition = `type = cred.change and user.effective_id = 0 and process.name = ${NAMES[index % 1000]!}`;
        break;
      case 17:
        condition = `spawned and process.executable endswith /${NAMES[index % 1000]!}.sh and user.id != 0`;
        break;
      case 18:
        // Free text: no value index applies, so these run on every exec; their leaves are shared.
        condition = `spawned and process.command_line contains "--token-${index % 25}=" and process.parent.name = ${any(PARENTS)}`;
        break;
      default:
        condition = `type = mem_access and vmi.access = x and vmi.view = ${index % 50} and vmi.gpa >= 0x${(0x100000 + index * 0x1000).toString(16)} and vmi.gpa < 0x${(0x101000 + index * 0x1000).toString(16)}`;
    }
    lines.push(
      `- rule: generated ${index}`,
      `  id: gen-${index}`,
      '  severity: medium',
      `  condition: ${condition}`,
      '  output: "%process.name %process.pid %domain"',
    );
  }
  return lines.join('\n');
}

/** Events like a busy guest's; a small share carry the names and values the rules look for. */
function generateEvents(count: number, hitRate: number, ruleCount: number): VmiEvent[] {
  const pick = random(11);
  const any = <T>(items: readonly T[]): T => items[Math.floor(pick() * items.length)]!;
  // Values the rules name: the first `ruleCount` of each pool (rule i names value i).
  const named = <T>(items: readonly T[]): T =>
    items[Math.floor(pick() * Math.min(ruleCount, items.length))]!;
  const hit = (): boolean => pick() < hitRate;
  const events: VmiEvent[] = [];
  for (let index = 0; index < count; index += 1) {
    const time = index * 0.01;
    const roll = pick();
    const domain = `guest-${index % 8}`;
    // Names 1000..3999 are never named by a rule; the named ones appear at the hit rate.
    const name = hit() ? named(RULE_NAMES) : NAMES[1000 + Math.floor(pick() * 3000)]!;
    const process = {
      pid: 1000 + (index % 30000),
      name,
      executable: `${hit() ? named(DIRS) : '/usr/bin/'}${name}`,
      command_line: `${name} --verbose --token-${hit() ? Math.floor(pick() * 25) : 99}=x --out /var/log/${name}.log`,
      parent: { pid: 1, name: any(PARENTS) },
      kernel_thread: false,
    };
    if (roll < 0.4)
      events.push({
        type: 'process.exec',
        domain,
        time,
        process,
        user: { id: pick() < 0.3 ? 0 : 1000 },
      });
    else if (roll < 0.6)
      events.push({
        type: 'mem_access',
        domain,
        time,
        vmi: {
          access: 'x',
          view: Math.floor(pick() * 50),
          gpa: hit() ? BigInt(0x100000 + Math.floor(pick() * ruleCount) * 0x1000) : 0x90000000n,
          size: 1,
        },
      });
    else if (roll < 0.75)
      events.push({
        type: 'network.connect',
        domain,
        time,
        process,
        network: {
          destination_ip: pick() < 0.5 ? '10.1.2.3' : '203.0.113.9',
          destination_port: hit() ? 20000 + Math.floor(pick() * ruleCount) : 443,
          transport: 'tcp',
        },
      });
    else if (roll < 0.8)
      events.push({
        type: 'module.load',
        domain,
        time,
        process,
        module: { name: hit() ? named(MODULES) : 'ext4' },
      });
    else if (roll < 0.9)
      events.push({
        type: 'cred.change',
        domain,
        time,
        process,
        user: { id: 1000, effective_id: pick() < 0.5 ? 0 : 1000 },
      });
    else
      events.push({
        type: 'kernel.write',
        domain,
        time,
        process,
        vmi: {
          symbol: `${hit() ? named(SYMBOLS) : 'jiffies_64'}+0x${Math.floor(pick() * 256).toString(16)}`,
          size: 8,
          gva: 0xffffffff82000000n,
        },
      });
  }
  return events;
}

function load(text: string): Ruleset {
  const result = loadRuleFiles([{ file: 'generated.yaml', text }]);
  if (result.errorCount > 0) throw new Error(result.diagnostics.map(formatDiagnostic).join('\n'));
  return result.ruleset;
}

function runThrough(
  engine: RuleEngine,
  events: VmiEvent[],
  rounds: number,
): { seconds: number; cpuSeconds: number; findings: number } {
  let findings = 0;
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  for (let round = 0; round < rounds; round += 1)
    from(events)
      .pipe(detect(engine, { now: () => new Date(0) }))
      .subscribe(() => {
        findings += 1;
      });
  const used = process.cpuUsage(cpu);
  return {
    seconds: Number(process.hrtime.bigint() - start) / 1e9,
    // On a shared machine the wall clock counts other processes' turns; CPU time counts ours.
    cpuSeconds: (used.user + used.system) / 1e6,
    findings,
  };
}

/** The rate per CPU second, the figure that holds on a loaded machine too. */
const perCpu = (events: number, cpuSeconds: number): string =>
  `${(events / cpuSeconds / 1e6).toFixed(2)} M events per CPU second`;

/**
 * The yardstick, measured here on the same machine at the same moment: a bare loop of one
 * closure per rule (compiled alone, no sharing), indexed by event type only, no RxJS, no findings.
 */
function bareLoop(ruleset: Ruleset, events: VmiEvent[], rounds: number): number {
  const types = [...new Set(events.map((event) => event.type))];
  const byType = new Map<string, Predicate[]>();
  for (const rule of ruleset.rules) {
    const predicate = compileCondition(rule.condition!, new CompileContext());
    const type = typeOf(rule.condition!);
    for (const key of type === undefined ? types : [type])
      byType.set(key, [...(byType.get(key) ?? []), predicate]);
  }
  let matched = 0;
  const start = process.hrtime.bigint();
  for (let round = 0; round < rounds; round += 1)
    for (const event of events) {
      const predicates = byType.get(event.type);
      if (predicates !== undefined)
        for (const predicate of predicates) if (predicate(event)) matched += 1;
    }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return matched >= 0 ? (events.length * rounds) / seconds : 0;
}

/** The event type a generated rule names in its first conjunct (`type = …`, also via the macro). */
function typeOf(condition: Checked): string | undefined {
  let node: Checked = condition;
  while (node.kind === 'and') node = node.operands[0]!;
  return node.kind === 'compare' && node.field === 'type' ? (node.values[0] as string) : undefined;
}

function throughput(ruleCount: number, target: number): boolean {
  const ruleset = load(generateRules(ruleCount));
  const engine = new RuleEngine(ruleset);
  const events = generateEvents(200_000, HIT_RATE, ruleCount);
  runThrough(engine, events, 2); // warm-up: let V8 optimise the closures
  const rounds = 10;
  const { seconds, cpuSeconds, findings } = runThrough(engine, events, rounds);
  const total = events.length * rounds;
  const rate = total / seconds;
  const sample = events.slice(0, 50_000);
  bareLoop(ruleset, sample.slice(0, 5_000), 1);
  const bare = process.env.RULES_BENCH_BARE === '0' ? NaN : bareLoop(ruleset, sample, 1);
  const stats = engine.stats;
  process.stdout.write(
    `${String(ruleCount).padStart(5)} rules: ${(rate / 1e6).toFixed(2)} M events/s through detect(), ${perCpu(total, cpuSeconds)} ` +
      `(${total.toLocaleString('en')} events in ${seconds.toFixed(2)} s; ${((findings / total) * 100).toFixed(2)}% of events gave a finding, ` +
      `${findings.toLocaleString('en')} findings; ${stats.indexed}/${stats.matchers} rules behind a value index; ` +
      `${stats.distinctLeaves}/${stats.leaves} distinct leaves). Yardstick, same machine now: every rule of the event type tested in turn (its own closures, no index, no sharing, no RxJS): ` +
      `${(bare / 1e6).toFixed(2)} M events/s. Target ${(target / 1e6).toFixed(1)} M: ${rate >= target ? 'met' : 'NOT met'}\n`,
  );
  return rate >= target;
}

/**
 * The hard case, as Sigma imports produce it: 1,000 rules that are only `icontains` on the command
 * line, with nothing to index by value. They share one substring scan per event. Reported, no target.
 */
function freeText(): boolean {
  const lines: string[] = [];
  for (let index = 0; index < 1000; index += 1)
    lines.push(
      `- rule: free text ${index}`,
      '  severity: low',
      `  condition: type = process.exec and process.command_line icontains "--Flag-${index}=" and user.id = 0`,
    );
  const engine = new RuleEngine(load(lines.join('\n')));
  const pick = random(5);
  const events: VmiEvent[] = Array.from({ length: 100_000 }, (_, index) => ({
    type: 'process.exec',
    domain: 'g',
    time: index,
    process: {
      pid: index,
      name: 'python3',
      command_line: `python3 /srv/app/manage.py run --workers 4 --flag-${pick() < 0.02 ? Math.floor(pick() * 1000) : 5000}=on --log /var/log/app.log`,
    },
    user: { id: pick() < 0.5 ? 0 : 1000 },
  }));
  runThrough(engine, events, 2);
  const rounds = 10;
  const { seconds, findings } = runThrough(engine, events, rounds);
  const total = events.length * rounds;
  process.stdout.write(
    ` 1000 free-text rules (icontains only, every event an exec): ${(total / seconds / 1e6).toFixed(2)} M events/s ` +
      `(${findings.toLocaleString('en')} findings; ${engine.stats.indexed}/${engine.stats.matchers} behind the substring index); no target\n`,
  );
  return true;
}

function flood(): boolean {
  const engine = new RuleEngine(
    load(`
- rule: exec then root
  severity: high
  sequence:
    by: [domain, process.pid]
    within: 1h
    max_keys: 10000
    steps:
      - type = process.exec
      - type = cred.change and user.effective_id = 0
`),
  );
  const gc = (globalThis as { gc?: () => void }).gc;
  const heap = (): number => {
    gc?.();
    return process.memoryUsage().heapUsed / 1e6;
  };
  const chunk = 250_000;
  const figures: string[] = [];
  const samples: number[] = [];
  let pid = 0;
  let last = { keys: 0, evicted: 0 };
  const base = heap();
  const events$ = from(
    (function* generate(): Generator<VmiEvent> {
      for (let round = 1; round <= 8; round += 1) {
        for (let index = 0; index < chunk; index += 1) {
          pid += 1;
          yield { type: 'process.exec', domain: 'flood', time: pid, process: { pid, name: 'x' } };
        }
        samples.push(heap());
        figures.push(
          `${((round * chunk) / 1e6).toFixed(2)} M events: ${samples.at(-1)!.toFixed(1)} MB`,
        );
      }
    })(),
  );
  const detector = detect(engine, { onStats: (s) => (last = s.correlation['exec-then-root']!) });
  events$.pipe(detector).subscribe();
  const afterCap = samples.slice(1);
  const spread = Math.max(...afterCap) - Math.min(...afterCap);
  process.stdout.write(
    `flood of 2,000,000 distinct keys into a sequence capped at 10,000 keys: heap ${figures.join(', ')} ` +
      `(baseline ${base.toFixed(1)} MB); ${last.keys} keys held, ${last.evicted.toLocaleString('en')} evicted; ` +
      `spread after the cap ${spread.toFixed(1)} MB: ${spread < 5 ? 'flat' : 'NOT flat'}\n`,
  );
  return spread < 5;
}

// `node rules.bench.js 100|1000|flood` runs one part (for profiling); the runner runs them all.
let realistic: VmiEvent[] | undefined;
/** The realistic stream (bench/realistic-stream.ts), 1,000,000 events, made once per run. */
function realisticStream(): VmiEvent[] {
  realistic ??= [...realisticEvents(1_000_000)];
  return realistic;
}

function realisticRun(label: string, engine: RuleEngine, target: number): boolean {
  const events = realisticStream();
  runThrough(engine, events.slice(0, 200_000), 1); // warm-up
  const { seconds, cpuSeconds, findings } = runThrough(engine, events, 1);
  const rate = events.length / seconds;
  process.stdout.write(
    `${label}: ${(rate / 1e6).toFixed(2)} M events/s on the realistic stream, ${perCpu(events.length, cpuSeconds)} ` +
      `(${events.length.toLocaleString('en')} events, ${(1e6 / rate).toFixed(2)} µs per event, ` +
      `${findings.toLocaleString('en')} findings = ${((findings / events.length) * 100).toFixed(2)}% of events; ${engine.stats.indexed}/${engine.stats.matchers} rules behind a value index). ` +
      `Target ${(target / 1e6).toFixed(1)} M: ${rate >= target ? 'met' : 'NOT met'}\n`,
  );
  return rate >= target;
}

/** Rules shaped like a real pack's over the realistic stream. */
function realisticRulesRun(count: number, target: number): boolean {
  return realisticRun(
    `${String(count).padStart(5)} realistic rules`,
    new RuleEngine(load(realisticRules(count))),
    target,
  );
}

/**
 * Every rule imported from Sigma (RINGSIDE_SIGMA_RULES: the YAML written by `ringside rules
 * import-sigma`; Sigma's rules are not shipped here). Skipped, and said so, when it is not set.
 */
function sigmaRun(): boolean {
  const path = process.env.RINGSIDE_SIGMA_RULES;
  if (path === undefined) {
    process.stdout.write('sigma: skipped (set RINGSIDE_SIGMA_RULES to an imported rule file)\n');
    return true;
  }
  const result = loadRuleFiles([{ file: path, text: readFileSync(path, 'utf8') }]);
  return realisticRun(
    `${String(result.ruleset.rules.length).padStart(5)} imported Sigma rules`,
    new RuleEngine(result.ruleset),
    500_000,
  );
}

/**
 * The per-event budget a hostile command line can cost: a regex that backtracks exponentially on
 * V8 ((a+)+$) over 31 characters, and a 1,024-byte line, through the linear-time engine.
 */
function hostileRegex(): boolean {
  const engine = new RuleEngine(
    load(
      '- rule: r\n  severity: low\n  condition: \'type = process.exec and process.command_line regex "(a+)+$"\'\n',
    ),
  );
  const worst = { slowest: 0 };
  for (const line of [`${'a'.repeat(30)}!`, `${'a'.repeat(1023)}!`]) {
    const events: VmiEvent[] = Array.from({ length: 2000 }, (_, index) => ({
      type: 'process.exec',
      domain: 'g',
      time: index,
      process: { command_line: line },
    }));
    runThrough(engine, events.slice(0, 200), 1);
    let slowest = 0;
    for (const event of events) {
      const start = process.hrtime.bigint();
      runThrough(engine, [event], 1);
      slowest = Math.max(slowest, Number(process.hrtime.bigint() - start) / 1e6);
    }
    const { seconds } = runThrough(engine, events, 1);
    process.stdout.write(
      `hostile regex (a+)+$ on a ${line.length}-character line: ${((seconds / events.length) * 1e6).toFixed(1)} µs per event on average, ${slowest.toFixed(2)} ms at worst\n`,
    );
    worst.slowest = Math.max(worst.slowest, slowest);
  }
  return worst.slowest < 5;
}

/**
 * The substring pre-filter's worst case: 256 telling pieces that share a first letter, against a
 * 1,024-character line of that letter (every position starts every piece). Must stay in µs.
 */
function hostileScan(): boolean {
  const letters = 'bfgjkqvwxyz';
  const index = new SubstringIndex<number>(true);
  for (let item = 0; item < 256; item += 1)
    index.add(`q${letters[item % 11]!}${letters[Math.floor(item / 11) % 11]!}z${item}`, item);
  index.build();
  const line = 'q'.repeat(1024);
  let found = 0;
  const visit = (): void => {
    found += 1;
  };
  for (let round = 0; round < 200; round += 1) index.scan(line, visit);
  const rounds = 2000;
  const cpu = process.cpuUsage();
  for (let round = 0; round < rounds; round += 1) index.scan(line, visit);
  const used = process.cpuUsage(cpu);
  const micros = (used.user + used.system) / rounds;
  process.stdout.write(
    `hostile scan (256 pieces, a 1,024-character line that starts each at every position): ${micros.toFixed(1)} µs of CPU per line, ${found} found\n`,
  );
  return found === 0 && micros < 1000;
}

const HIT_RATE = Number(process.env.RULES_BENCH_HIT_RATE ?? 0.05);
const only = process.argv[2];
process.stdout.write(
  `load average ${loadavg()
    .map((load) => load.toFixed(2))
    .join(' ')} on ${cpus().length} cores\n`,
);
const parts: [string, () => boolean][] = [
  ['100', () => throughput(100, 2_000_000)],
  ['1000', () => throughput(1000, 1_000_000)],
  ['free-text', freeText],
  ['realistic-100', () => realisticRulesRun(100, 2_000_000)],
  ['realistic-1000', () => realisticRulesRun(1000, 1_000_000)],
  ['sigma', sigmaRun],
  ['regex', hostileRegex],
  ['scan', hostileScan],
  ['flood', flood],
];
const ok = parts.filter(([name]) => only === undefined || only === name).map(([, run]) => run());
if (ok.includes(false)) process.exitCode = 1;
