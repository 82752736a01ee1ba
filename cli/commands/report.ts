// `ringside snapshot report <dump> -o report.html` and `ringside report --from findings.ndjson`: the
// evidence a responder looks at (facts, process tree, findings, tables, timeline) in one HTML page.
import { readFileSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { Command } from 'commander';
import { InputError } from '../../introspect/errors.js';
import { asSnapshotInputError } from '../snapshot-context.js';
import { judgeDump, withJudgingOptions, type JudgingOptions } from '../snapshot-judging.js';
import { escapeForTerminal } from '../../sinks/text/terminal.js';
import { snapshotReportModel } from '../report/model.js';
import { renderReport } from '../report/render.js';

interface ReportOptions extends JudgingOptions {
  output: string;
}

/** SHA-256 of a file, read in a worker thread: a 256 MiB dump hashes while the kernel is judged.
 *  64 KiB blocks stay in the CPU's cache between read() and the hash (4 MiB ones cost 0.1 s more). */
const HASH_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { closeSync, openSync, readSync } = require('node:fs');
const hash = createHash('sha256');
const block = Buffer.allocUnsafe(64 << 10);
const fd = openSync(workerData, 'r');
try {
  for (let read; (read = readSync(fd, block, 0, block.length, null)) > 0;) hash.update(block.subarray(0, read));
} finally {
  closeSync(fd);
}
parentPort.postMessage(hash.digest('hex'));
`;

export function fileSha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(HASH_WORKER, { eval: true, workerData: path });
    worker.once('message', (digest: string) => resolve(digest));
    worker.once('error', (error) =>
      reject(new InputError('cannot read the dump to hash it', path, { cause: error })),
    );
    worker.once('exit', (code) =>
      reject(new InputError(`the hashing thread ended (code ${code})`, path)),
    );
  });
}

export function writeReportFile(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (error) {
    throw new InputError('cannot write the report', path, { cause: error });
  }
}

export function registerSnapshotReport(snapshot: Command): void {
  withJudgingOptions(
    snapshot
      .command('report')
      .description(
        'Judge a snapshot like `check` and write a self-contained HTML evidence report (process tree, findings, modules, syscall table, IDT)',
      )
      .argument('<dump>', 'memory snapshot: QEMU dump-guest-memory ELF core, LiME, or raw')
      .requiredOption('-o, --output <file>', 'the HTML file to write'),
  ).action(async (dump: string, options: ReportOptions) => {
    const digest = fileSha256(dump);
    // A failure surfaces when awaited below (or not at all, when judging fails first).
    digest.catch(() => undefined);
    const { snapshot, kernel, verdict, warnings } = await judgeDump(dump, options);
    const sha256 = await digest;
    try {
      let model;
      try {
        model = snapshotReportModel(
          kernel,
          { file: dump, sha256, format: snapshot.layout.format },
          verdict.findings,
          warnings,
        );
      } catch (error) {
        throw asSnapshotInputError(error, dump);
      }
      writeReportFile(options.output, renderReport(model));
      for (const warning of model.warnings)
        process.stderr.write(`ringside: warning: partial answer: ${escapeForTerminal(warning)}\n`);
      process.stderr.write(
        `${options.output}: ${model.processes.length} processes, ${verdict.findings.length} finding(s)\n`,
      );
    } finally {
      snapshot.close();
    }
  });
}

interface SessionOptions {
  from: string;
  output: string;
  title?: string;
}

export function registerSessionReport(program: Command): void {
  program
    .command('report')
    .description(
      'Write a self-contained HTML report of a session’s findings (ECS NDJSON from a file sink or `check --json`): timeline per guest, processes, findings with evidence',
    )
    .requiredOption(
      '--from <findings.ndjson>',
      'the findings, one ECS document a line (lines of `monitor`’s event NDJSON may be mixed in)',
    )
    .requiredOption('-o, --output <file>', 'the HTML file to write')
    .option('--title <title>', 'the page’s title')
    .action(async (options: SessionOptions) => {
      const [{ readEcsFindings }, { renderSession }] = await Promise.all([
        import('../report/ecs-findings.js'),
        import('../report/session.js'),
      ]);
      let text: string;
      try {
        text = readFileSync(options.from, 'utf8');
      } catch (error) {
        throw new InputError('cannot read the findings', options.from, { cause: error });
      }
      const { findings, events, warnings } = readEcsFindings(options.from, text);
      writeReportFile(
        options.output,
        renderSession({
          title: options.title ?? `Ringside session report: ${options.from}`,
          source: options.from,
          generated: new Date().toISOString(),
          findings,
          events,
          warnings,
        }),
      );
      for (const warning of warnings) process.stderr.write(`ringside: warning: ${warning}\n`);
      process.stderr.write(
        `${options.output}: ${findings.length} finding(s), ${events.length} event(s)\n`,
      );
    });
}
