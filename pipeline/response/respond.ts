// Response actions, run on the findings of rules that ask for them (`actions:` in the rule): restore
// a trapped write while its writer's vCPU is still held, pause the guest, take a forensic dump.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { makeDirectory } from '../../sinks/make-directory.js';
import { join, resolve } from 'node:path';
import { concatMap, map, of, type MonoTypeOperatorFunction } from 'rxjs';
import type { Domain } from '../../introspect/domain/types.js';
import type { ActionRecord, Finding, ResponseActionName } from '../../introspect/events/finding.js';
import { restorerOf } from '../../introspect/events/restorable.js';
import { RuleEngine, type Ruleset } from '../../rules/index.js';

/** One audited action, as the log gets it: the finding it answered and the record. */
export interface ActionLogEntry {
  time: string;
  guest: string;
  finding: string;
  rule: string;
  action: ActionRecord;
}

export interface RespondOptions {
  domain: Domain;
  /** The actions each rule asks for, by rule id (see actionsByRule). */
  actions: ReadonlyMap<string, readonly ResponseActionName[]>;
  /** Where forensic dumps are written (created when needed). */
  snapshotDir: string;
  /** Every action, done or failed (default: one line each on stderr). */
  log?: (entry: ActionLogEntry) => void;
}

/** The rules that ask for actions, by rule id (empty when none does). */
export function actionsByRule(
  rules: Ruleset | RuleEngine,
): Map<string, readonly ResponseActionName[]> {
  const wanted = new Map<string, readonly ResponseActionName[]>();
  const list =
    rules instanceof RuleEngine ? rules.matchers.map((matcher) => matcher.rule) : rules.rules;
  for (const rule of list)
    if (rule.enabled && rule.actions.length > 0) wanted.set(rule.id, rule.actions);
  return wanted;
}

export const logActionToStderr = (entry: ActionLogEntry): void =>
  void process.stderr.write(
    `ringside: action ${entry.action.name} for ${entry.rule} (finding ${entry.finding}) on ${entry.guest}: ${
      entry.action.ok ? 'done' : `FAILED: ${entry.action.error ?? 'unknown'}`
    }\n`,
  );

const message = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/** Restore first and at once (the writer's vCPU is held while the finding is emitted). */
function restore(domain: Domain, finding: Finding): ActionRecord {
  if (!domain.responder) return cannotAct(domain, 'restore');
  const event = finding.events[finding.events.length - 1];
  const restorer = event ? restorerOf(event) : undefined;
  if (!restorer)
    return {
      name: 'restore',
      ok: false,
      error:
        'nothing to restore: only a trapped write to the syscall table, the IDT or the kernel text (a kernel.write event, live) can be put back',
    };
  try {
    return { name: 'restore', ok: true, details: restorer.restore() };
  } catch (error) {
    return { name: 'restore', ok: false, error: message(error) };
  }
}

function cannotAct(domain: Domain, name: ResponseActionName): ActionRecord {
  return {
    name,
    ok: false,
    error: `${domain.name}: this backend cannot act (response actions need the live QEMU backend with its RAM file and QMP; snapshots and replayed traces cannot act)`,
  };
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function later(
  options: RespondOptions,
  finding: Finding,
  name: 'pause' | 'snapshot',
): Promise<ActionRecord> {
  const responder = options.domain.responder;
  if (!responder) return cannotAct(options.domain, name);
  try {
    if (name === 'pause') {
      await responder.stop();
      return { name, ok: true, details: { state: 'paused' } };
    }
    makeDirectory(options.snapshotDir);
    const path = resolve(
      join(
        options.snapshotDir,
        `${options.domain.name}-${finding.id.slice(0, 12)}-${Date.now()}.elf`,
      ),
    );
    const started = performance.now();
    await responder.dumpMemory(path);
    const dumpMs = Math.round(performance.now() - started);
    return { name, ok: true, details: { path, sha256: await sha256(path), dump_ms: dumpMs } };
  } catch (error) {
    return { name, ok: false, error: message(error) };
  }
}

/**
 * Runs each finding's actions and records them in it (`actions`) and in the log. Restore runs
 * synchronously as the finding passes, the others (which need every vCPU out of the plugin) after;
 * findings keep their order. A failed action is recorded, never a reason to drop the finding.
 */
export function respond(options: RespondOptions): MonoTypeOperatorFunction<Finding> {
  const log = options.log ?? logActionToStderr;
  const audit = (finding: Finding, record: ActionRecord): ActionRecord => {
    try {
      log({
        time: new Date().toISOString(),
        guest: options.domain.name,
        finding: finding.id,
        rule: finding.rule.id,
        action: record,
      });
    } catch {
      // A broken log must not cost the finding; the record stays in it.
    }
    return record;
  };
  return (source) =>
    source.pipe(
      map((finding) => {
        const wanted = options.actions.get(finding.rule.id);
        if (!wanted?.includes('restore')) return finding;
        return { ...finding, actions: [audit(finding, restore(options.domain, finding))] };
      }),
      concatMap((finding) => {
        const wanted = (options.actions.get(finding.rule.id) ?? []).filter(
          (name): name is 'pause' | 'snapshot' => name === 'pause' || name === 'snapshot',
        );
        if (wanted.length === 0) return of(finding);
        return (async () => {
          const records = [...(finding.actions ?? [])];
          // Pause first: a dump of a paused guest leaves it paused.
          for (const name of (['pause', 'snapshot'] as const).filter((n) => wanted.includes(n)))
            records.push(audit(finding, await later(options, finding, name)));
          return { ...finding, actions: records };
        })();
      }),
    );
}

/** Findings judged offline keep their rules' actions, each recorded as not done (nothing to act on). */
export function recordUnactionable(
  findings: Finding[],
  actions: ReadonlyMap<string, readonly ResponseActionName[]>,
  why: string,
): Finding[] {
  return findings.map((finding) => {
    const wanted = actions.get(finding.rule.id);
    if (!wanted?.length) return finding;
    return { ...finding, actions: wanted.map((name) => ({ name, ok: false, error: why })) };
  });
}
