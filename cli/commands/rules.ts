// `ringside rules lint|test|run|import-sigma`: check rule files, run their tests or run them over a
// trace. Exit codes: 0 clean, 2 bad rule input (any error diagnostic), 1 a failed test case.
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { from, lastValueFrom, toArray } from 'rxjs';
import { replayTrace } from '../../introspect/backends/replay/index.js';
import type { VmiEvent } from '../../introspect/events/event.js';
import type { Finding } from '../../introspect/events/finding.js';
import { toJson } from '../../introspect/events/json.js';
import { InputError } from '../../introspect/errors.js';
import {
  DiagnosticBag,
  detect,
  findTestFiles,
  formatDiagnostic,
  loadRulePaths,
  RuleEngine,
  sortDiagnostics,
} from '../../rules/index.js';
import type { Diagnostic, DetectorStats, LoadResult } from '../../rules/index.js';
import type { RuleTestResult } from '../../rules/testing.js';
import { importSigma } from '../../rules/sigma.js';
import { checkTestCase, formatTestResult, parseTestFile } from '../../rules/testing.js';

export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

const stdio: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

function printDiagnostics(diagnostics: readonly Diagnostic[], output: Output): void {
  for (const diagnostic of diagnostics) output.err(formatDiagnostic(diagnostic));
}

function summary(result: LoadResult): string {
  const warnings = result.diagnostics.length - result.errorCount;
  const enabled = result.ruleset.rules.filter((rule) => rule.enabled).length;
  return `${result.ruleset.files.length} file(s), ${result.ruleset.rules.length} rule(s) (${enabled} enabled), ${result.errorCount} error(s), ${warnings} warning(s)`;
}

/**
 * The rules left out, counted by the codes of their errors (a rule with several counts under each),
 * then one line each: what a pack needs that Ringside lacks, at a glance.
 */
function notLoadedLines(result: LoadResult): string[] {
  if (result.notLoaded.length === 0) return [];
  const byCode = new Map<string, number>();
  for (const rule of result.notLoaded)
    for (const code of rule.codes) byCode.set(code, (byCode.get(code) ?? 0) + 1);
  const counts = [...byCode]
    .sort((a, b) => b[1] - a[1])
    .map(([code, count]) => `${count} ${code}`)
    .join(', ');
  return [
    `${result.notLoaded.length} rule(s) not loaded (${counts}):`,
    ...result.notLoaded.map(
      (rule) =>
        `  ${rule.at.file}:${rule.at.line}: '${rule.name}': ${rule.codes.join(', ') || 'see above'}`,
    ),
  ];
}

/** Bad rule input: the rules, tests or Sigma files have errors (exit code 2). */
const BAD_INPUT = 2;

/** `rules lint`: every diagnostic, then a summary; 2 if any error (or warning with strict). */
export async function lintRules(
  paths: string[],
  options: { strict?: boolean; json?: boolean },
  output: Output = stdio,
): Promise<number> {
  const result = await loadRulePaths(paths);
  // Test files beside the rules are checked too, so that CI catches a broken test before it runs.
  const testBag = new DiagnosticBag();
  for (const file of await findTestFiles(paths))
    parseTestFile(file, await readFile(file, 'utf8'), testBag);
  result.diagnostics = sortDiagnostics([...result.diagnostics, ...testBag.items]);
  result.errorCount += testBag.errorCount;
  if (options.json === true)
    output.out(
      JSON.stringify(
        {
          diagnostics: result.diagnostics,
          rules: result.ruleset.rules.map((rule) => rule.id),
          notLoaded: result.notLoaded,
        },
        null,
        2,
      ),
    );
  else {
    printDiagnostics(result.diagnostics, output);
    output.out(summary(result));
    for (const line of notLoadedLines(result)) output.out(line);
  }
  const failing = options.strict === true ? result.diagnostics.length : result.errorCount;
  return failing > 0 ? BAD_INPUT : 0;
}

async function readTrace(path: string): Promise<VmiEvent[]> {
  return lastValueFrom(replayTrace(path).pipe(toArray()));
}

/** `rules test`: loads the rules under the paths and runs every `*.tests.yaml` case found there. */
export async function testRules(
  paths: string[],
  options: { verbose?: boolean },
  output: Output = stdio,
): Promise<number> {
  const result = await loadRulePaths(paths);
  if (result.errorCount > 0) {
    printDiagnostics(result.diagnostics, output);
    output.err(`rules do not load: ${summary(result)}`);
    return BAD_INPUT;
  }
  const engine = new RuleEngine(result.ruleset);
  const known = new Set(result.ruleset.rules.filter((rule) => rule.enabled).map((rule) => rule.id));
  const testFiles = await findTestFiles(paths);
  if (testFiles.length === 0) {
    output.err(`no test files (*.tests.yaml) under ${paths.join(', ')}`);
    return BAD_INPUT;
  }
  const bag = new DiagnosticBag();
  const results: RuleTestResult[] = [];
  for (const file of testFiles) {
    const cases = parseTestFile(file, await readFile(file, 'utf8'), bag);
    for (const test of cases) {
      let events: VmiEvent[];
      if (test.events !== undefined) events = test.events;
      else {
        const tracePath = resolve(dirname(file), test.trace!);
        try {
          events = await readTrace(tracePath);
        } catch (error) {
          bag.error('BAD_VALUE', `test '${test.name}': ${(error as Error).message}`, test.at);
          continue;
        }
      }
      const findings = await lastValueFrom(from(events).pipe(detect(engine), toArray()));
      const outcome = checkTestCase(test, findings, known);
      results.push(outcome);
      if (!outcome.passed || options.verbose === true) output.out(formatTestResult(outcome));
    }
  }
  printDiagnostics(sortDiagnostics(bag.items), output);
  const failed = results.filter((outcome) => !outcome.passed).length;
  output.out(
    `${results.length - failed} passed, ${failed} failed, ${bag.errorCount} test file error(s) (${testFiles.length} test file(s), ${result.ruleset.rules.length} rule(s))`,
  );
  return bag.errorCount > 0 ? BAD_INPUT : failed > 0 ? 1 : 0;
}

/**
 * `rules run`: the findings of the rules over a trace, as NDJSON on stdout; with `sinks`, through
 * the sinks of that file (and ECS on stdout), as `ringside monitor` delivers them.
 */
export async function runRules(
  paths: string[],
  options: { trace: string; stats?: boolean; sinks?: string },
  output: Output = stdio,
): Promise<number> {
  const result = await loadRulePaths(paths);
  printDiagnostics(result.diagnostics, output);
  // A rule with errors is left out; the others still run, and the exit code says input was bad.
  if (result.errorCount > 0)
    output.err(`warning: ${summary(result)}; rules with errors are left out of this run`);
  let stats: DetectorStats | undefined;
  const findings: Finding[] = await lastValueFrom(
    replayTrace(options.trace).pipe(
      detect(result.ruleset, { onStats: (figures) => (stats = figures) }),
      toArray(),
    ),
  );
  let undelivered = 0;
  if (options.sinks !== undefined) {
    const { openSinks, undeliveredLines } = await import('../sinks-setup.js');
    const sink = await openSinks({ text: false, sinksFile: options.sinks });
    try {
      for (const finding of findings) await sink.write(finding);
      await sink.flush();
    } finally {
      await sink.close();
    }
    // A destination down or refusing is said per sink, and the run is not "ok".
    const lines = undeliveredLines(sink);
    for (const line of lines) output.err(line);
    undelivered = lines.length;
  } else for (const finding of findings) output.out(toJson(finding));
  if (options.stats === true && stats !== undefined) output.err(JSON.stringify(stats));
  // Lost correlation state is never silent: say which rules dropped keys at their cap.
  for (const [rule, figures] of Object.entries(stats?.correlation ?? {}))
    if (figures.evicted > 0)
      output.err(
        `warning: ${rule} evicted ${figures.evicted} key(s) at its max_keys cap; partial matches were lost`,
      );
  return result.errorCount > 0 || undelivered > 0 ? BAD_INPUT : 0;
}

/**
 * `rules import-sigma`: Sigma rules to Ringside YAML (stdout or --output), what did not map on
 * stderr; 0 when every rule mapped, 2 when some did not (those that did are written all the same).
 */
export async function importSigmaRules(
  files: string[],
  options: { output?: string },
  output: Output = stdio,
): Promise<number> {
  const inputs: { file: string; text: string }[] = [];
  for (const file of files) {
    try {
      inputs.push({ file, text: await readFile(file, 'utf8') });
    } catch (cause) {
      throw new InputError('cannot read the Sigma rule', file, { cause });
    }
  }
  const result = importSigma(inputs);
  printDiagnostics(result.diagnostics, output);
  if (result.yaml !== '') {
    if (options.output === undefined) output.out(result.yaml.trimEnd());
    else await writeFile(options.output, result.yaml);
  }
  output.err(
    `${result.imported.length} Sigma rule(s) imported, ${result.diagnostics.length} not mapped`,
  );
  return result.diagnostics.length > 0 ? BAD_INPUT : 0;
}
