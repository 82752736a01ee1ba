// `ringside status [--queue-dir DIR] [--json]`: per-sink metrics (health, queued, sent, retried,
// dead-lettered, dropped) read from the sinks' queue directories, while Ringside runs or after.
import type { Command } from 'commander';
import { defaultQueueRoot, formatStatus, readQueueStatus } from '../../sinks/delivery/status.js';

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      'show each sink: health, findings queued on disk, sent, retried, dead-lettered, dropped',
    )
    .option(
      '--queue-dir <dir>',
      "root of the sinks' queue directories (default $RINGSIDE_QUEUE_DIR or ~/.local/state/ringside/queues)",
    )
    .option('--json', 'print the metrics as JSON')
    .action(async (options: { queueDir?: string; json?: boolean }) => {
      const rows = await readQueueStatus(options.queueDir ?? defaultQueueRoot());
      if (options.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else process.stdout.write(`${formatStatus(rows).join('\n')}\n`);
    });
}
