// The connection to Ringside's TCG plugin inside QEMU: hits come in and are answered with a resume
// once the handler settles; configuration (exec hooks, frame traps, views, register traps) goes out
// and is acknowledged once QEMU has retranslated what it must.
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { RingsideError } from '../../errors.js';
import { HitRing, type RingLatency } from './hit-ring.js';
import {
  decodeMessage,
  encodeAttachRing,
  encodeGetStats,
  encodeResume,
  encodeSetExecHooks,
  encodeSetRegisterTraps,
  encodeSetWatches,
  encodeSwitchView,
  FrameSplitter,
  HitKind,
  MessageType,
  PROTOCOL_VERSION,
  type ExecHookEntry,
  type Hello,
  type Hit,
  type PluginMessage,
  type Stats,
} from './plugin-protocol.js';

export type HitHandler = (hit: Hit) => void | Promise<void>;

export class PluginClient {
  private readonly splitter = new FrameSplitter();
  private readonly waiting = new Map<
    number,
    { resolve: (message: PluginMessage) => void; reject: (error: Error) => void }
  >();
  private nextSequence = 1;
  private handler: HitHandler | undefined;
  /**
   * Hits wait here while an earlier one is still being handled (the plugin sends one at a time per
   * vCPU), each with how its vCPU is resumed: over the socket, or through the hit ring.
   */
  private readonly waitingHits: { hit: Hit; resume: (sequence: number) => void }[] = [];
  private ring: HitRing | undefined;
  /** Frames written to the socket so far: a ring resume waits for the plugin to have handled them. */
  private framesSent = 0;
  private readonly socketResume = (sequence: number): void => {
    if (this.failure) return;
    this.framesSent += 1;
    this.socket.write(encodeResume(sequence));
  };
  private handling = false;
  private failure: Error | undefined;
  private readonly closeListeners = new Set<(error: Error) => void>();

  private constructor(
    private readonly socket: Socket,
    readonly path: string,
    readonly hello: Hello,
    rest: Buffer,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) =>
      this.fail(
        new RingsideError('BACKEND', `plugin socket ${path}: ${error.message}`, { cause: error }),
      ),
    );
    socket.on('close', () =>
      this.fail(
        new RingsideError(
          'BACKEND',
          `plugin socket ${path}: QEMU closed the connection (QEMU exited or the plugin stopped)`,
        ),
      ),
    );
    if (rest.length > 0) this.onData(rest);
  }

  /** Connects and waits for the plugin's hello; a clear error when nothing listens. */
  static async connect(path: string, timeoutMs = 5000): Promise<PluginClient> {
    return new Promise<PluginClient>((resolve, reject) => {
      const socket = createConnection(path);
      const splitter = new FrameSplitter();
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new RingsideError(
            'BACKEND',
            `plugin socket ${path}: no hello within ${timeoutMs} ms (another Ringside attached?)`,
          ),
        );
      }, timeoutMs);
      const onError = (error: NodeJS.ErrnoException): void => {
        clearTimeout(timer);
        const why =
          error.code === 'ENOENT' || error.code === 'ECONNREFUSED'
            ? 'nothing listens there: is QEMU running with -plugin ringside-tcg.so,socket=…? (see `ringside qemu-args`)'
            : error.message;
        reject(
          new RingsideError(
            error.code === 'ENOENT' ? 'NOT_FOUND' : 'BACKEND',
            `plugin socket ${path}: ${why}`,
            {
              cause: error,
            },
          ),
        );
      };
      socket.once('error', onError);
      const onData = (chunk: Buffer): void => {
        let frames: Buffer[];
        try {
          frames = splitter.push(chunk);
        } catch (error) {
          socket.destroy();
          reject(
            new RingsideError('BACKEND', `plugin socket ${path}: ${(error as Error).message}`),
          );
          return;
        }
        if (frames.length === 0) return;
        clearTimeout(timer);
        socket.off('data', onData);
        socket.off('error', onError);
        const hello = decodeMessage(frames[0]!);
        if (hello.type !== MessageType.Hello || hello.version !== PROTOCOL_VERSION) {
          socket.destroy();
          reject(
            new RingsideError(
              'BACKEND',
              `plugin socket ${path}: unexpected first message (protocol ${PROTOCOL_VERSION} wanted)`,
            ),
          );
          return;
        }
        const rest = Buffer.concat(
          frames.slice(1).map((frame) => {
            const header = Buffer.alloc(4);
            header.writeUInt32LE(frame.length);
            return Buffer.concat([header, frame]);
          }),
        );
        resolve(new PluginClient(socket, path, hello, rest));
      };
      socket.on('data', onData);
    });
  }

  /** The one handler of hits; the vCPU is resumed once it returns or its promise settles. */
  setHitHandler(handler: HitHandler | undefined): void {
    this.handler = handler;
  }

  onClose(listener: (error: Error) => void): () => void {
    if (this.failure) listener(this.failure);
    else this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  get closed(): boolean {
    return this.failure !== undefined;
  }

  setExecHooks(hooks: readonly ExecHookEntry[]): Promise<void> {
    return this.request((sequence) => encodeSetExecHooks(sequence, hooks)).then(() => undefined);
  }

  setWatches(view: number, frames: readonly { frame: bigint; access: number }[]): Promise<void> {
    return this.request((sequence) => encodeSetWatches(sequence, view, frames)).then(
      () => undefined,
    );
  }

  switchView(vcpu: number, view: number): Promise<void> {
    return this.request((sequence) => encodeSwitchView(sequence, vcpu, view)).then(() => undefined);
  }

  setRegisterTraps(mask: number): Promise<void> {
    return this.request((sequence) => encodeSetRegisterTraps(sequence, mask)).then(() => undefined);
  }

  /** `reset`: the plugin's hold samples (median, p99) start afresh after this report. */
  async stats(reset = false): Promise<Stats> {
    return (await this.request((sequence) => encodeGetStats(sequence, reset))) as Stats;
  }

  /** Where the hit ring's round trips spend their time (undefined without a ring). */
  ringLatency(reset = false): RingLatency | undefined {
    return this.ring?.latency(reset);
  }

  /** Whether held hits go through the hit ring now (else the socket). */
  get ringAttached(): boolean {
    return this.ring?.attached ?? false;
  }

  /**
   * Sends held hits through a hit ring (a shared file in `dir`, /dev/shm by default) instead of the
   * socket. False, and the socket stays, when the ring cannot work here or the plugin refused it.
   */
  async useRing(dir = '/dev/shm'): Promise<boolean> {
    if (this.ring) return this.ring.attached;
    const path = join(dir, `ringside-ring-${process.pid}-${Date.now().toString(36)}`);
    let ring: HitRing | undefined;
    try {
      ring = HitRing.create(path, (body) => this.onRingFrame(body));
    } catch {
      ring = undefined;
    }
    if (!ring) return false;
    this.ring = ring;
    await this.request((sequence) => encodeAttachRing(sequence, path));
    if (!ring.attached) {
      this.ring = undefined;
      ring.stop();
      return false;
    }
    return true;
  }

  /** Back to the socket for held hits (a hit held in the ring now goes on). */
  async stopRing(): Promise<void> {
    const ring = this.ring;
    if (!ring) return;
    if (!this.failure) await this.request((sequence) => encodeAttachRing(sequence, ''));
    this.ring = undefined;
    ring.stop();
  }

  private onRingFrame(body: Uint8Array): void {
    const ring = this.ring;
    if (!ring) return;
    let message: PluginMessage;
    try {
      message = decodeMessage(body);
    } catch {
      return; // a torn or foreign frame: its vCPU goes on at the plugin's timeout
    }
    if (message.type !== MessageType.Hit) return;
    this.waitingHits.push({
      hit: message,
      resume: (sequence) => ring.reply(sequence, this.framesSent),
    });
    if (!this.handling) this.nextHit();
  }

  close(): void {
    this.ring?.stop();
    this.ring = undefined;
    this.socket.end();
    this.socket.destroy();
  }

  private request(encode: (sequence: number) => Buffer): Promise<PluginMessage> {
    if (this.failure) return Promise.reject(this.failure);
    const sequence = this.nextSequence++;
    return new Promise<PluginMessage>((resolve, reject) => {
      const frame = encode(sequence);
      this.waiting.set(sequence, { resolve, reject });
      this.framesSent += 1;
      this.socket.write(frame);
    });
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.splitter.push(chunk);
    } catch (error) {
      this.fail(
        new RingsideError('BACKEND', `plugin socket ${this.path}: ${(error as Error).message}`),
      );
      this.socket.destroy();
      return;
    }
    for (const frame of frames) {
      const message = decodeMessage(frame);
      if (message.type === MessageType.Hit && message.kind === HitKind.ExecNotify) {
        // Nobody waits for this one: handle it now, answer nothing.
        try {
          void this.handler?.(message);
        } catch {
          // The domain reports handler errors itself.
        }
      } else if (message.type === MessageType.Hit) {
        this.waitingHits.push({ hit: message, resume: this.socketResume });
        if (!this.handling) this.nextHit();
      } else if (message.type === MessageType.Ack || message.type === MessageType.Stats) {
        const waiter = this.waiting.get(message.sequence);
        this.waiting.delete(message.sequence);
        waiter?.resolve(message);
      }
    }
  }

  /**
   * Runs the handler for the next waiting hit and resumes the vCPU as soon as it settles: in the same
   * tick when the handler returns synchronously, since every microtask hop adds latency to a held vCPU.
   */
  private nextHit(): void {
    const next = this.waitingHits.shift();
    if (!next) {
      this.handling = false;
      return;
    }
    const { hit, resume } = next;
    this.handling = true;
    const finish = (): void => {
      resume(hit.sequence);
      this.nextHit();
    };
    let result: void | Promise<void>;
    try {
      result = this.handler?.(hit);
    } catch {
      // A handler's failure must not keep the vCPU held; the domain reports handler errors itself.
      result = undefined;
    }
    if (result && typeof result.then === 'function') result.then(finish, finish);
    else finish();
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.ring?.stop();
    this.ring = undefined;
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
    for (const listener of this.closeListeners) listener(error);
    this.closeListeners.clear();
  }
}
