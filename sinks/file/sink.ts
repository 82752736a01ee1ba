// Findings as NDJSON in a file, the embedded default: lines are written in groups and fdatasynced
// before write() resolves, so an acknowledged finding is on disk. The file rotates by size:
// path -> path.1 -> … -> path.<keep>; the oldest is deleted, and that deletion is logged.
import { existsSync } from 'node:fs';
import { makeDirectory } from '../make-directory.js';
import { open, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Finding } from '../../introspect/events/finding.js';
import type { Observer } from '../ecs/document.js';
import { SinkError } from '../errors.js';
import { formatter } from '../format.js';
import type { DocumentFormat } from '../format.js';
import { stderrLog } from '../log.js';
import type { SinkLog } from '../log.js';
import type { Sink, SinkMetrics } from '../types.js';

export interface FileSinkOptions {
  path: string;
  observer: Observer;
  format?: DocumentFormat;
  /** Rotate when the file would grow beyond this. Default 100 MiB. */
  maxBytes?: number;
  /** Rotated files kept (path.1 … path.N). Default 5. */
  keep?: number;
  /** Group-commit window, ms. Default 5. */
  fsyncIntervalMs?: number;
  log?: SinkLog;
}

interface Waiting {
  line: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export async function createFileSink(options: FileSinkOptions): Promise<Sink> {
  const { path } = options;
  const maxBytes = options.maxBytes ?? 100 << 20;
  const keep = options.keep ?? 5;
  const log = options.log ?? stderrLog;
  const format = formatter(options.format ?? 'ecs', options.observer);
  const name = `file:${path}`;
  makeDirectory(dirname(path));
  let handle: FileHandle = await open(path, 'a');
  let size = existsSync(path) ? (await stat(path)).size : 0;
  let waiting: Waiting[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> | undefined;
  let closed = false;
  const counters = { accepted: 0, sent: 0, dropped: 0 };
  let lastError: string | undefined;

  const rotate = async (): Promise<void> => {
    await handle.close();
    const oldest = `${path}.${keep}`;
    if (existsSync(oldest)) {
      await rm(oldest);
      log.info('file sink: rotated file deleted by the retention policy', {
        sink: name,
        file: oldest,
        keep,
      });
    }
    for (let index = keep - 1; index >= 1; index -= 1)
      if (existsSync(`${path}.${index}`)) await rename(`${path}.${index}`, `${path}.${index + 1}`);
    await rename(path, keep >= 1 ? `${path}.1` : `${path}.deleted`);
    if (keep < 1) await rm(`${path}.deleted`);
    handle = await open(path, 'a');
    size = 0;
  };

  const writeGroup = async (group: Waiting[]): Promise<void> => {
    try {
      let index = 0;
      while (index < group.length) {
        // Lines up to the size bound go in this file; the rest after a rotation.
        const lines: string[] = [];
        let bytes = 0;
        while (index < group.length) {
          const length = Buffer.byteLength(group[index]!.line);
          if (size + bytes + length > maxBytes && (size + bytes > 0 || lines.length > 0)) break;
          lines.push(group[index]!.line);
          bytes += length;
          index += 1;
        }
        if (lines.length > 0) {
          try {
            const data = Buffer.from(lines.join(''));
            // On a full disk write() may take part of the bytes without an error (a short write).
            const { bytesWritten } = await handle.write(data);
            if (bytesWritten < data.length)
              throw new Error(
                `ENOSPC: short write (${bytesWritten} of ${data.length} bytes), no space left on the device`,
              );
          } catch (error) {
            // A full disk can take part of the bytes: cut them off, so the file holds whole lines only.
            await handle.truncate(size).catch(() => undefined);
            throw error;
          }
          size += bytes;
        }
        if (index < group.length) {
          await handle.datasync();
          await rotate();
        }
      }
      await handle.datasync();
      counters.sent += group.length;
      lastError = undefined;
      for (const item of group) item.resolve();
    } catch (error) {
      // Refused (a full disk…): the writers get the error, the findings count as dropped, and the
      // health is failing until a write succeeds. Lines of the group already synced stay (at least once).
      counters.dropped += group.length;
      lastError = error instanceof Error ? error.message : String(error);
      for (const item of group)
        item.reject(
          new SinkError(name, 'UNAVAILABLE', `cannot write: ${lastError}`, { cause: error }),
        );
    }
  };

  const sync = async (): Promise<void> => {
    if (timer) {
      clearTimeout(timer);
      timer = undefined;
    }
    while (writing) await writing;
    if (waiting.length === 0) return;
    const group = waiting;
    waiting = [];
    writing = writeGroup(group).finally(() => {
      writing = undefined;
    });
    await writing;
    if (waiting.length > 0 && !writing) void sync();
  };

  return {
    name,
    write(finding: Finding): Promise<void> {
      if (closed) return Promise.reject(new SinkError(name, 'QUEUE_CLOSED', 'write after close'));
      const line = `${format(finding)}\n`;
      counters.accepted += 1;
      const done = new Promise<void>((resolve, reject) => waiting.push({ line, resolve, reject }));
      if (!writing) timer ??= setTimeout(() => void sync(), options.fsyncIntervalMs ?? 5);
      return done;
    },
    flush: sync,
    async close(): Promise<void> {
      if (closed) return;
      await sync();
      closed = true;
      await handle.close();
    },
    metrics(): SinkMetrics {
      return {
        sink: name,
        health: closed ? 'closed' : lastError ? 'failing' : 'ok',
        accepted: counters.accepted,
        queued: counters.accepted - counters.sent - counters.dropped,
        queuedBytes: 0,
        sent: counters.sent,
        retried: 0,
        deadLettered: 0,
        dropped: counters.dropped,
        ...(lastError ? { lastError } : {}),
      };
    },
  };
}
