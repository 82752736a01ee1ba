// `ringside sinks redeliver --sinks FILE --sink NAME`: re-sends a network sink's dead letters (after
// the mapping or the event was fixed), each finding id once; what is refused again stays a dead letter.
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { InputError } from '../../introspect/errors.js';
import { createConfiguredDestination } from '../../sinks/config.js';
import { defaultQueueRoot } from '../../sinks/delivery/status.js';
import { DEAD_LETTER_FILE, TORN_FILE, redeliver } from '../../sinks/delivery/redeliver.js';
import type { RedeliverReport } from '../../sinks/delivery/redeliver.js';
import { RINGSIDE_VERSION } from '../version.js';

interface RedeliverCommandOptions {
  sinks: string;
  sink: string;
  queueDir?: string;
  batchSize: string;
  attempts: string;
  json?: boolean;
}

const positiveInteger = (text: string, option: string): number => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1)
    throw new InputError('must be a positive integer', `${option} ${text}`);
  return value;
};

/** The lines for stderr: each problem once, naming the sink and where its findings are now. */
export function redeliverProblems(sink: string, file: string, report: RedeliverReport): string[] {
  const lines: string[] = [];
  if (report.refused.length > 0) {
    const first = report.refused[0]!;
    lines.push(
      `sink ${sink}: ${report.refused.length} finding(s) refused again, back in ${file} (first: ${first.id}: ${first.reason})`,
    );
  }
  if (report.unsent > 0)
    lines.push(
      `sink ${sink}: ${report.unsent} finding(s) not sent, back in ${file}: ${report.lastError ?? 'unknown error'}`,
    );
  if (report.lateArrivals)
    lines.push(
      `sink ${sink}: dead letters arrived while the file was being taken: run the command again to send them`,
    );
  return lines;
}

export function registerSinksCommands(program: Command): void {
  const sinks = program.command('sinks').description("work on the sinks' queues");
  sinks
    .command('redeliver')
    .description(
      "re-send a sink's dead letters (each finding id once); refused ones stay in the dead-letter file",
    )
    .requiredOption('--sinks <file>', 'the sinks configuration (YAML/JSON) naming the destination')
    .requiredOption(
      '--sink <name>',
      'the sink whose dead letters to re-send (its name in the file)',
    )
    .option(
      '--queue-dir <dir>',
      "root of the sinks' queue directories (default $RINGSIDE_QUEUE_DIR or ~/.local/state/ringside/queues)",
    )
    .option('--batch-size <n>', 'findings per request', '500')
    .option('--attempts <n>', 'attempts per request while the destination is down or busy', '5')
    .option('--json', 'print the report as JSON')
    .action(async (options: RedeliverCommandOptions) => {
      const batchSize = positiveInteger(options.batchSize, '--batch-size');
      const attempts = positiveInteger(options.attempts, '--attempts');
      let config: unknown;
      try {
        config = parseYaml(readFileSync(options.sinks, 'utf8'));
      } catch (error) {
        throw new InputError('cannot read the sinks configuration', options.sinks, {
          cause: error,
        });
      }
      const { destination, directory } = createConfiguredDestination(config, options.sink, {
        observer: { hostname: hostname(), version: RINGSIDE_VERSION },
        source: options.sinks,
        queueRoot: options.queueDir ?? defaultQueueRoot(),
      });
      try {
        if (!existsSync(directory))
          throw new InputError(
            `no queue directory for sink "${options.sink}" (wrong --queue-dir?)`,
            directory,
          );
        const report = await redeliver({ destination, directory, batchSize, attempts });
        const file = join(directory, DEAD_LETTER_FILE);
        if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        else
          process.stdout.write(
            report.read === 0 && report.torn === 0
              ? `sink ${options.sink}: no dead letters\n`
              : `sink ${options.sink}: ${report.read} dead letter(s): ${report.delivered} delivered, ${report.refused.length} refused again, ${report.unsent} not sent` +
                  ` (${report.duplicates} repeated id(s) sent once, ${report.alreadyDelivered} already delivered by an interrupted run)\n`,
          );
        if (report.torn > 0)
          process.stderr.write(
            `ringside: sink ${options.sink}: ${report.torn} torn line(s) (a write cut short) not sent, kept in ${join(directory, TORN_FILE)}\n`,
          );
        const problems = redeliverProblems(options.sink, file, report);
        for (const line of problems) process.stderr.write(`ringside: ${line}\n`);
        if (problems.length > 0) process.exitCode = 2;
      } finally {
        await destination.close();
      }
    });
}
