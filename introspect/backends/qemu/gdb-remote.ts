// A small GDB remote serial protocol client for QEMU's gdbstub: packets with checksums and acks,
// interrupt, continue, single-step, breakpoints and registers. The fallback hook engine uses it
// when QEMU runs without Ringside's plugin.
import { createConnection, type Socket } from 'node:net';
import { RingsideError } from '../../errors.js';

const checksum = (data: string): string => {
  let sum = 0;
  for (let index = 0; index < data.length; index++) sum = (sum + data.charCodeAt(index)) & 0xff;
  return sum.toString(16).padStart(2, '0');
};

export const encodePacket = (data: string): string => `$${data}#${checksum(data)}`;

/** Splits a byte stream into packets; acks ('+'/'-') are dropped, malformed packets reported. */
export class PacketReader {
  private buffer = '';
  push(chunk: string): { packets: string[]; bad: number } {
    this.buffer += chunk;
    const packets: string[] = [];
    let bad = 0;
    for (;;) {
      const start = this.buffer.indexOf('$');
      if (start < 0) {
        this.buffer = '';
        break;
      }
      const end = this.buffer.indexOf('#', start);
      if (end < 0 || end + 3 > this.buffer.length) {
        this.buffer = this.buffer.slice(start);
        break;
      }
      const data = this.buffer.slice(start + 1, end);
      const sum = this.buffer.slice(end + 1, end + 3);
      this.buffer = this.buffer.slice(end + 3);
      if (sum.toLowerCase() === checksum(data)) packets.push(data);
      else bad++;
    }
    return { packets, bad };
  }
}

export class GdbRemote {
  private readonly reader = new PacketReader();
  private waiting: ((packet: string) => void) | undefined;
  private readonly queued: string[] = [];
  private failure: Error | undefined;
  private readonly closeListeners = new Set<(error: Error) => void>();

  private constructor(
    private readonly socket: Socket,
    readonly path: string,
  ) {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      const { packets, bad } = this.reader.push(chunk);
      if (bad > 0) socket.write('-');
      for (const packet of packets) {
        socket.write('+');
        const waiter = this.waiting;
        if (waiter) {
          this.waiting = undefined;
          waiter(packet);
        } else this.queued.push(packet);
      }
    });
    const fail = (error: Error): void => {
      if (this.failure) return;
      this.failure = error;
      for (const listener of this.closeListeners) listener(error);
    };
    socket.on('error', (error) =>
      fail(new RingsideError('BACKEND', `gdbstub ${path}: ${error.message}`)),
    );
    socket.on('close', () =>
      fail(new RingsideError('BACKEND', `gdbstub ${path}: QEMU closed the connection`)),
    );
  }

  static connect(path: string): Promise<GdbRemote> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(path);
      socket.once('connect', () => resolve(new GdbRemote(socket, path)));
      socket.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new RingsideError(
            error.code === 'ENOENT' ? 'NOT_FOUND' : 'BACKEND',
            `gdbstub ${path}: ${error.message}`,
          ),
        ),
      );
    });
  }

  onClose(listener: (error: Error) => void): void {
    if (this.failure) listener(this.failure);
    else this.closeListeners.add(listener);
  }

  /** The next packet from the stub (a reply, or a stop reply after continue). */
  next(timeoutMs = 10_000): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    const packet = this.queued.shift();
    if (packet !== undefined) return Promise.resolve(packet);
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.waiting = undefined;
              reject(
                new RingsideError(
                  'BACKEND',
                  `gdbstub ${this.path}: no answer within ${timeoutMs} ms`,
                ),
              );
            }, timeoutMs)
          : undefined;
      this.onClose((error) => {
        clearTimeout(timer);
        reject(error);
      });
      this.waiting = (value) => {
        clearTimeout(timer);
        resolve(value);
      };
    });
  }

  send(data: string): void {
    this.socket.write(encodePacket(data));
  }

  async request(data: string): Promise<string> {
    this.send(data);
    const reply = await this.next();
    if (/^E[0-9a-fA-F]{2}$/.test(reply))
      throw new RingsideError('BACKEND', `gdbstub: ${data.slice(0, 20)} failed (${reply})`);
    return reply;
  }

  /** Asks the stub to stop every vCPU (Ctrl-C); its stop reply comes through next(). */
  interrupt(): void {
    this.socket.write('\x03');
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The thread (vCPU, 1-based) of a stop reply such as "T05thread:p01.02;". */
export function stopThread(reply: string): number | undefined {
  const match = /thread:(?:p[0-9a-f]+\.)?([0-9a-f]+);/i.exec(reply);
  return match ? Number.parseInt(match[1]!, 16) : undefined;
}

/** Little-endian hex from a `g` reply. */
export function registerAt(reply: string, byteOffset: number, size: number): bigint {
  let value = 0n;
  for (let index = size - 1; index >= 0; index--) {
    const at = (byteOffset + index) * 2;
    value = (value << 8n) | BigInt(Number.parseInt(reply.slice(at, at + 2), 16) || 0);
  }
  return value;
}
