// Progress on stderr for steps that may take more than a second: a bar on a terminal, one line per
// step otherwise. Nothing is shown for steps that finish within the first second.
import { escapeForTerminal } from '../sinks/text/terminal.js';

export interface Progress {
  /** Starts a named step; `total` units, when known. */
  step(label: string, total?: number): void;
  update(done: number): void;
  done(): void;
  /** Stops the step without a "done" line (it failed): nothing more is written for it. */
  abort(): void;
}

/**
 * Runs `body` as a named step: the step always ends, so no progress line can follow an error
 * (a timer left running would print `label…` after the error line).
 */
export function withProgress<T>(progress: Progress, label: string, body: () => T): T {
  progress.step(label);
  let result: T;
  try {
    result = body();
  } catch (error) {
    progress.abort();
    throw error;
  }
  progress.done();
  return result;
}

export function createProgress(
  stream: NodeJS.WriteStream = process.stderr,
  quiet = false,
): Progress {
  let label = '';
  let total: number | undefined;
  let current = 0;
  let started = 0;
  let timer: NodeJS.Timeout | undefined;
  let shown = false;
  const tty = stream.isTTY === true;

  const render = (): void => {
    shown = true;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (!tty) return;
    let bar = '';
    if (total !== undefined && total > 0) {
      const filled = Math.round((Math.min(current, total) / total) * 30);
      bar = `[${'#'.repeat(filled)}${'.'.repeat(30 - filled)}] ${Math.round((current / total) * 100)}% `;
    }
    stream.write(`\r\x1b[K${label} ${bar}${seconds}s`);
  };

  const stop = (): void => {
    if (timer) clearInterval(timer);
    timer = undefined;
  };

  const finish = (): void => {
    stop();
    if (shown)
      stream.write(
        tty
          ? `\r\x1b[K${label} done in ${((Date.now() - started) / 1000).toFixed(1)}s\n`
          : `${label}: done in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
      );
    shown = false;
  };

  return {
    step(next, size) {
      finish();
      if (quiet) return;
      label = escapeForTerminal(next);
      total = size;
      current = 0;
      started = Date.now();
      timer = setTimeout(() => {
        if (!tty) stream.write(`${label}…\n`);
        render();
        timer = setInterval(render, 200);
        timer.unref();
      }, 1000);
      timer.unref();
    },
    update(done) {
      current = done;
    },
    done: finish,
    abort() {
      stop();
      if (shown && tty) stream.write('\r\x1b[K');
      shown = false;
    },
  };
}
