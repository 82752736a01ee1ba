// A small QMP client: one unix-socket connection, the capabilities handshake, and commands answered in
// order. Used for VM-level control (stop/cont, status) and snapshots (dump-guest-memory).
import { createConnection, type Socket } from 'node:net';
import { RingsideError } from '../../errors.js';

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  command: string;
}

/**
 * What the live domains need of a QEMU monitor: commands, events, close. A QMP socket
 * (`QmpClient`) or libvirt's monitor pass-through (`LibvirtMonitor`).
 */
/** A QMP event; `timestamp` is QEMU's own clock when it emitted it (absent through libvirt). */
export interface QmpEvent {
  event: string;
  data?: unknown;
  timestamp?: { seconds: number; microseconds: number };
}

export interface QmpChannel {
  /** Where the monitor is (a socket path, or `libvirt:DOMAIN`), for messages. */
  readonly path: string;
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T>;
  onEvent(listener: (event: QmpEvent) => void): () => void;
  close(): void;
}

export class QmpClient implements QmpChannel {
  private buffer = '';
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closedError: Error | undefined;
  private readonly eventListeners = new Set<(event: QmpEvent) => void>();

  private constructor(
    private readonly socket: Socket,
    readonly path: string,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    const fail = (error: Error): void => this.failAll(error);
    socket.on('error', (error) =>
      fail(new RingsideError('BACKEND', `QMP ${path}: ${error.message}`, { cause: error })),
    );
    socket.on('close', () =>
      fail(new RingsideError('BACKEND', `QMP ${path}: connection closed by QEMU`)),
    );
  }

  /** Connects and negotiates capabilities; rejects with a clear message when nothing listens. */
  static async connect(path: string, timeoutMs = 5000): Promise<QmpClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const connection = createConnection(path);
      const timer = setTimeout(() => {
        connection.destroy();
        reject(new RingsideError('BACKEND', `QMP ${path}: no greeting within ${timeoutMs} ms`));
      }, timeoutMs);
      connection.once('connect', () => {
        clearTimeout(timer);
        resolve(connection);
      });
      connection.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const why =
          error.code === 'ENOENT'
            ? 'no such socket (is QEMU running with -qmp unix:…?)'
            : error.message;
        reject(
          new RingsideError(
            error.code === 'ENOENT' ? 'NOT_FOUND' : 'BACKEND',
            `QMP ${path}: ${why}`,
            { cause: error },
          ),
        );
      });
    });
    const client = new QmpClient(socket, path);
    // QEMU serves one QMP client at a time: a second one gets no greeting until the first leaves.
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.execute('qmp_capabilities'),
        new Promise((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new RingsideError(
                  'BACKEND',
                  `QMP ${path}: no answer within ${timeoutMs} ms (is another QMP client connected?)`,
                ),
              ),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      client.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
    return client;
  }

  onEvent(listener: (event: QmpEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    const message = JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id });
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, command });
      this.socket.write(`${message}\n`);
    });
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let newline: number;
    while ((newline = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (line) this.onMessage(line);
    }
  }

  private onMessage(line: string): void {
    let message: {
      id?: number;
      return?: unknown;
      error?: { class: string; desc: string };
      event?: string;
      data?: unknown;
      timestamp?: QmpEvent['timestamp'];
    };
    try {
      message = JSON.parse(line);
    } catch {
      return; // QEMU only sends JSON; ignore anything else rather than crash.
    }
    if (message.event) {
      for (const listener of this.eventListeners)
        listener({ event: message.event, data: message.data, timestamp: message.timestamp });
      return;
    }
    if (message.id === undefined) return; // the greeting
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.error) {
      pending.reject(
        new RingsideError(
          'BACKEND',
          `QMP ${pending.command}: ${message.error.class}: ${message.error.desc}`,
        ),
      );
    } else {
      pending.resolve(message.return);
    }
  }

  private failAll(error: Error): void {
    this.closedError ??= error;
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}
