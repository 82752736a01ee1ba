// The `ringside rules` commands as the CLI registers them at start-up; their work (the rule engine,
// YAML, RxJS) is loaded from ./rules.js only when one of them runs.
import type { Command } from 'commander';
import { InputError } from '../../introspect/errors.js';

const implementation = () => import('./rules.js');

export function registerRulesCommands(program: Command): void {
  const rules = program.command('rules').description('Check, test and run detection rules');
  rules
    .command('lint')
    .description('Load rule files and report every problem with file:line:col (exit 2 on errors)')
    .argument('<paths...>', 'rule files or folders')
    .option('--strict', 'fail on warnings too')
    .option('--json', 'diagnostics as JSON')
    .action(async (paths: string[], options: { strict?: boolean; json?: boolean }) => {
      process.exitCode = await (await implementation()).lintRules(paths, options);
    });
  rules
    .command('test')
    .description(
      'Run the test cases (*.tests.yaml) beside the rules on their traces (exit 1 on a failed case, 2 on bad input)',
    )
    .argument('<paths...>', 'rule folders or files (test files are found in the same folders)')
    .option('-v, --verbose', 'print passing tests too')
    .action(async (paths: string[], options: { verbose?: boolean }) => {
      process.exitCode = await (await implementation()).testRules(paths, options);
    });
  rules
    .command('import-sigma')
    .description(
      'Convert Sigma rules to Ringside rules where their log source maps (exit 2 if some do not)',
    )
    .argument('<files...>', 'Sigma rule files')
    .option('-o, --output <file>', 'write the Ringside rules there instead of stdout')
    .action(async (files: string[], options: { output?: string }) => {
      process.exitCode = await (await implementation()).importSigmaRules(files, options);
    });
  rules
    .command('run')
    .description('Run rules over a recorded trace and print findings as NDJSON')
    .argument('<paths...>', 'rule files or folders')
    .requiredOption('-t, --trace <file>', 'NDJSON trace to replay')
    .option('--stats', 'print detector figures (events, findings, correlation keys) to stderr')
    .option(
      '--sinks <file>',
      'deliver the findings to the sinks of this file (docs/sinks.md), ECS on stdout',
    )
    .action(
      async (paths: string[], options: { trace: string; stats?: boolean; sinks?: string }) => {
        if (options.trace === '') throw new InputError('empty trace path', '--trace');
        process.exitCode = await (await implementation()).runRules(paths, options);
      },
    );
}
