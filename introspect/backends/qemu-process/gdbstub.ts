// QEMU's gdbstub started at run time through the monitor (HMP `gdbserver` over QMP) on a private
// unix socket, and stopped again on detach, so a guest started without -gdb can still take
// breakpoints and is left as it was found.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RingsideError } from '../../errors.js';
import type { QmpChannel } from '../qemu/qmp.js';

export const hmp = (qmp: QmpChannel, command: string): Promise<string> =>
  qmp.execute<string>('human-monitor-command', { 'command-line': command });

export interface StartedGdbstub {
  socket: string;
  /** Stops the gdbstub (`gdbserver none`) and removes the private directory. */
  stop(): Promise<void>;
}

export async function startGdbstub(qmp: QmpChannel): Promise<StartedGdbstub> {
  const directory = mkdtempSync(join(tmpdir(), 'ringside-gdb-'));
  const socket = join(directory, 'gdb.sock');
  const reply = await hmp(qmp, `gdbserver unix:${socket},server=on,wait=off`);
  // QEMU answers "Waiting for gdb connection on device '…'" or an error sentence.
  if (!existsSync(socket)) {
    rmSync(directory, { recursive: true, force: true });
    const why = reply.trim().split('\n').pop() || 'no socket appeared';
    throw new RingsideError(
      'BACKEND',
      `QEMU did not start a gdbstub (${why}): it already runs one, for another debugger or a Ringside killed without detaching; if it is stale, stop it with the monitor command \`gdbserver none\``,
    );
  }
  let stopped = false;
  return {
    socket,
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      try {
        await hmp(qmp, 'gdbserver none');
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
    },
  };
}
