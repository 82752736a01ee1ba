// QEMU's gdbstub started at run time through the monitor (HMP `gdbserver` over QMP) on a private
// unix socket, and stopped again on detach, so a guest started without -gdb can still take
// breakpoints and is left as it was found; a stub left by a Ringside killed with SIGKILL is found
// (its socket directory names the owner's pid) and cleaned before a new one starts.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { RingsideError } from '../../errors.js';
import { GdbRemote } from '../qemu/gdb-remote.js';
import type { QmpChannel } from '../qemu/qmp.js';

export const hmp = (qmp: QmpChannel, command: string): Promise<string> =>
  qmp.execute<string>('human-monitor-command', { 'command-line': command });

export interface StartedGdbstub {
  socket: string;
  /** What was cleaned up after a Ringside that died attached (one line), if anything. */
  cleaned?: string;
  /** Stops the gdbstub (`gdbserver none`) and removes the private directory. */
  stop(): Promise<void>;
}

/** A gdbstub socket Ringside started, as `info chardev` lists it, with the pid that started it. */
export interface RingsideStub {
  socket: string;
  /** The Ringside process that started it (undefined for directories without a pid). */
  owner: number | undefined;
}

/** Ringside's gdbstub sockets in QEMU's `info chardev` (`…ringside-gdb-PID-XXXXXX/gdb.sock`). */
export function ringsideStubs(chardevs: string): RingsideStub[] {
  const found: RingsideStub[] = [];
  for (const match of chardevs.matchAll(
    /unix:(\/[^,\s]*\/ringside-gdb-(?:(\d+)-)?[^/,\s]*\/gdb\.sock)/g,
  ))
    found.push({ socket: match[1]!, owner: match[2] !== undefined ? Number(match[2]) : undefined });
  return found;
}

/** A live process that is a Node (Ringside) process: the owner of a stub still attached. */
function ringsideAlive(pid: number): boolean {
  try {
    return /node|ringside/.test(readFileSync(`/proc/${pid}/cmdline`, 'latin1'));
  } catch {
    return false;
  }
}

/**
 * Detaches from a stale stub: gdb `D` makes QEMU remove every breakpoint and resume the guest
 * (also one stopped on a stale breakpoint), then `gdbserver none` closes the stub.
 */
async function cleanStale(qmp: QmpChannel, stale: RingsideStub): Promise<string> {
  const who =
    stale.owner !== undefined
      ? `a Ringside (pid ${stale.owner}) that died attached`
      : 'an earlier Ringside';
  const status = await qmp.execute<{ status: string }>('query-status').catch(() => undefined);
  let detached = false;
  if (existsSync(stale.socket)) {
    const gdb = await GdbRemote.connect(stale.socket).catch(() => undefined);
    if (gdb) {
      try {
        await gdb.request('?');
        await gdb.request('D;1').catch(() => gdb.request('D'));
        detached = true;
      } catch {
        detached = false;
      } finally {
        gdb.close();
      }
    }
  }
  await hmp(qmp, 'gdbserver none');
  rmSync(dirname(stale.socket), { recursive: true, force: true });
  if (!detached)
    throw new RingsideError(
      'BACKEND',
      `QEMU kept the gdbstub of ${who} and Ringside could not reach it at ${stale.socket} to remove its breakpoints; the stub is now stopped, but its breakpoints may remain in QEMU until the next debugger detaches (gdb: target remote …; detach)`,
    );
  const after = await qmp.execute<{ status: string }>('query-status').catch(() => undefined);
  return `cleaned up after ${who}: removed its breakpoints and stopped its gdbstub ${stale.socket}${
    status?.status === 'debug'
      ? ` (the guest had stopped on one of them; now ${after?.status ?? 'unknown'})`
      : ''
  }`;
}

export async function startGdbstub(qmp: QmpChannel): Promise<StartedGdbstub> {
  const leftovers = ringsideStubs(await hmp(qmp, 'info chardev'));
  // Ours (this process) or a live Ringside's: attached, not stale.
  const attached = leftovers.find(
    (stub) => stub.owner !== undefined && (stub.owner === process.pid || ringsideAlive(stub.owner)),
  );
  if (attached)
    throw new RingsideError(
      'BACKEND',
      `another Ringside (pid ${attached.owner}) is attached to this QEMU through its gdbstub ${attached.socket}: one monitor per guest (stop that one first)`,
    );
  const cleaned: string[] = [];
  for (const stale of leftovers) cleaned.push(await cleanStale(qmp, stale));
  const directory = mkdtempSync(join(tmpdir(), `ringside-gdb-${process.pid}-`));
  const socket = join(directory, 'gdb.sock');
  const reply = await hmp(qmp, `gdbserver unix:${socket},server=on,wait=off`);
  // QEMU answers "Waiting for gdb connection on device '…'" or an error sentence.
  if (!existsSync(socket)) {
    rmSync(directory, { recursive: true, force: true });
    const why = reply.trim().split('\n').pop() || 'no socket appeared';
    throw new RingsideError(
      'BACKEND',
      `QEMU did not start a gdbstub (${why}): it may already run one for another debugger; if it is stale, stop it with the monitor command \`gdbserver none\``,
    );
  }
  let stopped = false;
  return {
    socket,
    ...(cleaned.length > 0 ? { cleaned: cleaned.join('; ') } : {}),
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
