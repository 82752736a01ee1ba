// Runs commands inside the sample guest through its control channel (guestctl on ttyS1, a unix socket
// on the host): "ID COMMAND" goes in, the command's output and "RINGSIDE-DONE ID STATUS" come back.
import { createConnection, type Socket } from 'node:net';
import { RingsideError } from '../../introspect/errors.js';

export interface CommandResult {
  status: number;
  output: string;
}

export class GuestControl {
  private buffer = '';
  private nextId = 1;
  private waiter:
    | { id: number; resolve: (result: CommandResult) => void; reject: (error: Error) => void }
    | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('close', () =>
      this.waiter?.reject(new RingsideError('BACKEND', 'the guest control channel closed')),
    );
    socket.on('error', () => {});
  }

  static connect(path: string): Promise<GuestControl> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      socket.once('connect', () => resolve(new GuestControl(socket)));
      socket.once('error', (error) =>
        reject(new RingsideError('BACKEND', `guest control ${path}: ${error.message}`)),
      );
    });
  }

  /** Runs a shell command in the guest (as root) and waits for it to finish. */
  run(command: string, timeoutMs = 120_000): Promise<CommandResult> {
    const result = this.queue.then(
      () =>
        new Promise<CommandResult>((resolve, reject) => {
          const id = this.nextId++;
          const timer = setTimeout(
            () => reject(new RingsideError('BACKEND', `guest command timed out: ${command}`)),
            timeoutMs,
          );
          this.waiter = {
            id,
            resolve: (value) => {
              clearTimeout(timer);
              resolve(value);
            },
            reject: (error) => {
              clearTimeout(timer);
              reject(error);
            },
          };
          this.buffer = '';
          this.socket.write(`${id} ${command}\n`);
        }),
    );
    this.queue = result.catch(() => undefined);
    return result;
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    const waiter = this.waiter;
    if (!waiter) return;
    const match = new RegExp(`RINGSIDE-DONE ${waiter.id} (\\d+)`).exec(this.buffer);
    if (!match) return;
    const output = this.buffer.slice(0, match.index).replace(/\r/g, '');
    this.waiter = undefined;
    waiter.resolve({ status: Number(match[1]), output });
  }
}
