// The durable queue in front of a network sink: append-only segment files, group-committed with one
// fdatasync per batch; a record is acknowledged only once on disk and leaves only when commit() says the
// destination confirmed it. Bounded: when full, writers wait (back-pressure) and the policy is logged.
import { EventEmitter } from 'node:events';
import { readdirSync } from 'node:fs';
import { makeDirectory } from '../make-directory.js';
import { open, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { SinkError } from '../errors.js';
import { silentLog } from '../log.js';
import type { SinkLog } from '../log.js';
import type { EncodedFinding } from '../types.js';
import { QueuedRecord, RecordSlab, coalesce, parseRecord, parseRecordBytes } from './record.js';

export type WhenFull = 'block' | 'drop-newest';

export interface QueueOptions {
  /** Directory of this sink's queue; created if missing. One queue per directory. */
  directory: string;
  /** Name used in logs and errors. */
  name?: string;
  /** Bound on the bytes the queue keeps on disk. Default 1 GiB. */
  maxBytes?: number;
  /** Size at which a new segment file starts. Default 32 MiB. */
  segmentBytes?: number;
  /** Group-commit window: appends within it share one fdatasync. Default 5 ms. */
  fsyncIntervalMs?: number;
  /** Appends waiting beyond this many bytes are synced at once. Default 4 MiB. */
  fsyncBytes?: number;
  /**
   * What happens when the queue is full. 'block' (default): append() waits until the destination
   * drains it (back-pressure). 'drop-newest': append() waits up to blockTimeoutMs, then refuses the
   * finding with a QUEUE_FULL error, logged with its id.
   */
  whenFull?: WhenFull;
  blockTimeoutMs?: number;
  log?: SinkLog;
}

export interface Position {
  segment: number;
  offset: number;
}

export interface QueueBatch {
  records: EncodedFinding[];
  /** Where the queue continues after this batch; give the batch to commit() once delivered. */
  end: Position;
  bytes: number;
}

/** Appends waiting for the same write and fdatasync: they share one promise (one per group). */
interface Pending {
  buffers: Buffer[];
  bytes: number;
  done: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function newGroup(): Pending {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { buffers: [], bytes: 0, done, resolve, reject };
}

const SEGMENT = /^segment-(\d{12})\.q$/;
const segmentName = (segment: number): string =>
  `segment-${segment.toString().padStart(12, '0')}.q`;
const READ_CHUNK = 1 << 20;
/** Queue files hold findings (process names, command lines): readable by their owner only. */
const FILE_MODE = 0o600;
const describe = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/** Waits for one of `events`, the abort of `signal` or `timeoutMs`, and leaves no listener behind. */
function wake(
  emitter: EventEmitter,
  events: readonly string[],
  signal?: AbortSignal,
  timeoutMs?: number,
): Promise<void> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (): void => {
      for (const event of events) emitter.off(event, done);
      signal?.removeEventListener('abort', done);
      if (timer) clearTimeout(timer);
      resolve();
    };
    for (const event of events) emitter.on(event, done);
    signal?.addEventListener('abort', done, { once: true });
    if (timeoutMs !== undefined) timer = setTimeout(done, timeoutMs);
  });
}

export class DurableQueue {
  private readonly directory: string;
  private readonly name: string;
  private readonly maxBytes: number;
  private readonly segmentBytes: number;
  private readonly fsyncIntervalMs: number;
  private readonly fsyncBytes: number;
  private readonly whenFull: WhenFull;
  private readonly blockTimeoutMs: number;
  private readonly log: SinkLog;
  private readonly events = new EventEmitter();

  /** Sizes of the segment files on disk, by number. */
  private readonly segments = new Map<number, number>();
  private writeSegment = 0;
  private writeHandle: FileHandle | undefined;
  /** End of what is on disk and synced: readers never go past it. */
  private durable: Position = { segment: 0, offset: 0 };
  private cursor: Position = { segment: 0, offset: 0 };
  private readPosition: Position = { segment: 0, offset: 0 };
  private readonly readHandles = new Map<number, FileHandle>();

  private pending: Pending | undefined;
  private pendingBytes = 0;
  private readonly slab = new RecordSlab();
  private syncTimer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | undefined;
  private blockedSince: number | undefined;
  private closed = false;
  /** fdatasync calls so far: the group commit makes this far smaller than the appends. */
  syncs = 0;

  /** Records and bytes not yet committed (on disk or about to be). */
  private recordCount = 0;
  /** Records per segment, to keep recordCount right when a batch is committed. */
  private readonly batchRecords = new Map<QueueBatch, number>();

  private constructor(options: QueueOptions) {
    this.directory = options.directory;
    this.name = options.name ?? options.directory;
    this.maxBytes = options.maxBytes ?? 1 << 30;
    // Disk use stays below maxBytes plus the consumed part of one segment: keep segments small enough.
    this.segmentBytes = Math.max(
      4096,
      Math.min(options.segmentBytes ?? 32 << 20, Math.floor(this.maxBytes / 4)),
    );
    this.fsyncIntervalMs = options.fsyncIntervalMs ?? 5;
    this.fsyncBytes = options.fsyncBytes ?? 4 << 20;
    this.whenFull = options.whenFull ?? 'block';
    this.blockTimeoutMs = options.blockTimeoutMs ?? (this.whenFull === 'block' ? Infinity : 1000);
    this.log = options.log ?? silentLog;
    this.events.setMaxListeners(0);
  }

  /** Opens (or creates) the queue in its directory and replays what a previous run left. */
  static async open(options: QueueOptions): Promise<DurableQueue> {
    const queue = new DurableQueue(options);
    await queue.recover();
    return queue;
  }

  /** Findings waiting, the bytes they take, and the bytes the segment files hold on disk. */
  depth(): { records: number; bytes: number; diskBytes: number } {
    return {
      records: this.recordCount,
      bytes: this.uncommittedBytes(),
      diskBytes: this.diskBytes(),
    };
  }

  /** What the bound applies to: records not yet committed, on disk or about to be. */
  private uncommittedBytes(): number {
    let total = this.pendingBytes;
    for (const [segment, size] of this.segments) {
      if (segment > this.cursor.segment) total += size;
      else if (segment === this.cursor.segment) total += size - this.cursor.offset;
    }
    return total;
  }

  private diskBytes(): number {
    let total = 0;
    for (const size of this.segments.values()) total += size;
    return total + this.pendingBytes;
  }

  private async recover(): Promise<void> {
    makeDirectory(this.directory, 0o700);
    try {
      const saved = JSON.parse(
        await readFile(join(this.directory, 'cursor.json'), 'utf8'),
      ) as Position;
      if (Number.isInteger(saved.segment) && Number.isInteger(saved.offset)) this.cursor = saved;
    } catch {
      // No cursor (first run) or an unreadable one: start from the oldest segment; a re-send is harmless.
    }
    const numbers = readdirSync(this.directory)
      .map((file) => SEGMENT.exec(file)?.[1])
      .filter((match): match is string => match !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    if (numbers.length > 0 && numbers[0]! > this.cursor.segment)
      this.cursor = { segment: numbers[0]!, offset: 0 };
    for (const segment of numbers) {
      const path = join(this.directory, segmentName(segment));
      if (segment < this.cursor.segment) {
        await rm(path, { force: true });
        continue;
      }
      const bytes = await readFile(path);
      let offset = 0;
      let records = 0;
      while (offset < bytes.length) {
        const parsed = parseRecord(bytes, offset);
        if (parsed.kind !== 'record') {
          // Never acknowledged: a record is acked only after its fdatasync completed.
          this.log.warn('queue: discarding a torn record at the end of a segment', {
            queue: this.name,
            segment: segmentName(segment),
            offset,
            discardedBytes: bytes.length - offset,
            reason: parsed.kind === 'corrupt' ? parsed.reason : 'incomplete',
          });
          await truncate(path, offset);
          break;
        }
        if (segment > this.cursor.segment || offset >= this.cursor.offset) records += 1;
        offset += parsed.bytes;
      }
      this.segments.set(segment, offset);
      this.recordCount += records;
    }
    if (this.cursor.offset > (this.segments.get(this.cursor.segment) ?? 0)) {
      this.cursor = {
        segment: this.cursor.segment,
        offset: this.segments.get(this.cursor.segment) ?? 0,
      };
    }
    this.readPosition = { ...this.cursor };
    this.writeSegment = numbers.length > 0 ? numbers[numbers.length - 1]! : this.cursor.segment;
    if (!this.segments.has(this.writeSegment)) this.segments.set(this.writeSegment, 0);
    this.writeHandle = await open(
      join(this.directory, segmentName(this.writeSegment)),
      'a',
      FILE_MODE,
    );
    this.durable = { segment: this.writeSegment, offset: this.segments.get(this.writeSegment)! };
    if (this.recordCount > 0)
      this.log.info('queue: replaying findings left by a previous run', {
        queue: this.name,
        records: this.recordCount,
        bytes: this.diskBytes(),
      });
  }

  /** Appends a record; resolves once it is on disk (fdatasync), with back-pressure when full. */
  append(record: EncodedFinding): Promise<void> {
    if (this.closed)
      return Promise.reject(new SinkError(this.name, 'QUEUE_CLOSED', 'the queue is closed'));
    const buffer = this.slab.encode(record);
    if (this.uncommittedBytes() + buffer.length > this.maxBytes)
      return this.waitForSpace(record, buffer.length).then(() => this.enqueue(buffer));
    return this.enqueue(buffer);
  }

  private enqueue(buffer: Buffer): Promise<void> {
    const group = (this.pending ??= newGroup());
    group.buffers.push(buffer);
    group.bytes += buffer.length;
    const done = group.done;
    this.pendingBytes += buffer.length;
    this.recordCount += 1;
    // One sync at a time: a sync in progress picks up what was appended meanwhile when it ends.
    if (this.syncing) return done;
    if (this.pendingBytes >= this.fsyncBytes) void this.sync();
    else this.syncTimer ??= setTimeout(() => void this.sync(), this.fsyncIntervalMs);
    return done;
  }

  private async waitForSpace(record: EncodedFinding, size: number): Promise<void> {
    const started = Date.now();
    if (this.blockedSince === undefined) {
      this.blockedSince = started;
      this.log.warn('queue: full, applying back-pressure (writers wait for the sink to drain)', {
        queue: this.name,
        maxBytes: this.maxBytes,
        policy: this.whenFull,
        blockTimeoutMs: Number.isFinite(this.blockTimeoutMs) ? this.blockTimeoutMs : 'none',
      });
    }
    while (this.uncommittedBytes() + size > this.maxBytes) {
      if (this.closed) throw new SinkError(this.name, 'QUEUE_CLOSED', 'the queue is closed');
      const remaining = this.blockTimeoutMs - (Date.now() - started);
      if (remaining <= 0) {
        this.log.error('queue: full, finding refused (drop-newest policy)', {
          queue: this.name,
          id: record.id,
          maxBytes: this.maxBytes,
        });
        throw new SinkError(
          this.name,
          'QUEUE_FULL',
          `queue full (${this.maxBytes} bytes), finding ${record.id} refused`,
        );
      }
      await wake(
        this.events,
        ['space'],
        undefined,
        Number.isFinite(remaining) ? remaining : 60_000,
      );
    }
    if (this.blockedSince !== undefined) {
      this.log.info('queue: space again, back-pressure released', {
        queue: this.name,
        blockedMs: Date.now() - this.blockedSince,
      });
      this.blockedSince = undefined;
    }
  }

  /** Writes and fdatasyncs everything appended so far (one sync for the whole group). */
  async sync(): Promise<void> {
    if (this.syncTimer) {
      clearTimeout(this.syncTimer);
      this.syncTimer = undefined;
    }
    while (this.syncing) await this.syncing;
    const group = this.pending;
    if (group === undefined) return;
    this.pending = undefined;
    this.syncing = this.writeGroup(group).finally(() => {
      this.syncing = undefined;
    });
    await this.syncing;
    // What arrived during this write and fdatasync is the next group: write it now.
    if (this.pending !== undefined && !this.syncing) void this.sync();
  }

  private async writeGroup(group: Pending): Promise<void> {
    const bytes = group.bytes;
    try {
      const size = this.segments.get(this.writeSegment) ?? 0;
      const drained = this.cursor.segment === this.writeSegment && this.cursor.offset === size;
      // Start a new segment when this one is full, or when it is fully delivered (to give space back).
      if (
        size > 0 &&
        (size + bytes > this.segmentBytes || (drained && size >= this.segmentBytes / 4))
      )
        await this.rotate();
      const handle = this.writeHandle!;
      let written = 0;
      const buffers = coalesce(group.buffers);
      while (written < bytes) {
        const { bytesWritten } = await handle.writev(buffers);
        written += bytesWritten;
        if (written < bytes) {
          // A short write: continue with what is left (rare, but writev may do it).
          let skip = bytesWritten;
          while (skip > 0 && buffers.length > 0) {
            const first = buffers[0]!;
            if (first.length <= skip) {
              skip -= first.length;
              buffers.shift();
            } else {
              buffers[0] = first.subarray(skip);
              skip = 0;
            }
          }
        }
      }
      await handle.datasync();
      this.syncs += 1;
      this.pendingBytes -= bytes;
      this.segments.set(
        this.writeSegment,
        size > 0 && size + bytes > this.segmentBytes
          ? bytes
          : (this.segments.get(this.writeSegment) ?? 0) + bytes,
      );
      this.durable = { segment: this.writeSegment, offset: this.segments.get(this.writeSegment)! };
      group.resolve();
      this.events.emit('data');
    } catch (error) {
      // A failed write (disk full) may have left part of the group in the file: cut it off, so that the
      // next group starts where the reader expects it.
      await this.writeHandle
        ?.truncate(this.segments.get(this.writeSegment) ?? 0)
        .catch((cause: unknown) =>
          this.log.error('queue: cannot cut off a failed write', {
            queue: this.name,
            error: cause instanceof Error ? cause.message : String(cause),
          }),
        );
      this.log.error('queue: write failed, findings not acknowledged', {
        queue: this.name,
        count: group.buffers.length,
        error: error instanceof Error ? error.message : String(error),
      });
      this.pendingBytes -= bytes;
      this.recordCount -= group.buffers.length;
      const refusal = new SinkError(
        this.name,
        'STORAGE',
        `cannot write the queue (${describe(error)}): finding not accepted`,
        { cause: error },
      );
      group.reject(refusal);
    }
  }

  private async rotate(): Promise<void> {
    await this.writeHandle?.close();
    this.writeSegment += 1;
    this.segments.set(this.writeSegment, 0);
    this.writeHandle = await open(
      join(this.directory, segmentName(this.writeSegment)),
      'a',
      FILE_MODE,
    );
  }

  /**
   * The next records after the previous batch (not yet committed ones are not re-read: a batch must be
   * committed, or the queue re-opened, before its records come again). Waits until there is one, or
   * resolves with an empty batch once the queue is closed or `signal` aborts.
   */
  async read(maxRecords: number, maxBytes = 8 << 20, signal?: AbortSignal): Promise<QueueBatch> {
    const records: EncodedFinding[] = [];
    let position = { ...this.readPosition };
    let bytes = 0;
    while (records.length === 0) {
      if (this.closed || signal?.aborted) return { records, end: position, bytes };
      const limit =
        position.segment === this.durable.segment
          ? this.durable.offset
          : (this.segments.get(position.segment) ?? 0);
      if (position.offset >= limit) {
        if (position.segment < this.durable.segment) {
          position = { segment: position.segment + 1, offset: 0 };
          continue;
        }
        await wake(this.events, ['data', 'close'], signal);
        continue;
      }
      const handle = await this.readHandle(position.segment);
      let length = Math.min(limit - position.offset, Math.max(READ_CHUNK, maxBytes));
      let chunk = this.readBuffer(length);
      let { bytesRead } = await handle.read(chunk, 0, length, position.offset);
      chunk = chunk.subarray(0, bytesRead);
      let offset = 0;
      while (records.length < maxRecords && bytes < maxBytes) {
        // Checksums were verified when the queue was opened (older records) or the records were
        // written by this process: no need to pay for them again on every read.
        const parsed = parseRecordBytes(chunk, offset, false);
        if (parsed.kind === 'record') {
          records.push(parsed.record);
          offset += parsed.bytes;
          bytes += parsed.bytes;
          continue;
        }
        if (parsed.kind === 'corrupt')
          throw new SinkError(
            this.name,
            'UNAVAILABLE',
            `queue segment ${segmentName(position.segment)} corrupt at ${position.offset + offset}: ${parsed.reason}`,
          );
        if (offset === 0 && parsed.need > chunk.length && position.offset + parsed.need <= limit) {
          // One record larger than the chunk: read exactly it.
          length = parsed.need;
          chunk = this.readBuffer(length);
          ({ bytesRead } = await handle.read(chunk, 0, length, position.offset));
          chunk = chunk.subarray(0, bytesRead);
          continue;
        }
        break;
      }
      position = { segment: position.segment, offset: position.offset + offset };
      // The records are views of the reused read buffer: move them to a buffer of their own, of the
      // size they take (one copy), which their batch keeps while it is in flight.
      if (records.length > 0) {
        const own = Buffer.from(chunk.subarray(0, offset));
        for (let index = 0; index < records.length; index += 1)
          records[index] = (records[index] as QueuedRecord).moved(chunk, own);
      }
    }
    this.readPosition = position;
    const batch = { records, end: position, bytes };
    this.batchRecords.set(batch, records.length);
    return batch;
  }

  /** One buffer reused by every read (what a batch keeps is copied out of it), grown when needed. */
  private readScratch = Buffer.alloc(0);
  private readBuffer(length: number): Buffer {
    if (this.readScratch.length < length)
      this.readScratch = Buffer.allocUnsafe(Math.max(length, READ_CHUNK));
    return this.readScratch.subarray(0, length);
  }

  /** Forget what read() handed out but was not committed, so that the next read() returns it again. */
  rewind(): void {
    this.readPosition = { ...this.cursor };
    this.batchRecords.clear();
  }

  private async readHandle(segment: number): Promise<FileHandle> {
    let handle = this.readHandles.get(segment);
    if (!handle) {
      handle = await open(join(this.directory, segmentName(segment)), 'r');
      this.readHandles.set(segment, handle);
    }
    return handle;
  }

  /** The destination confirmed this batch: move the cursor past it and delete finished segments. */
  async commit(batch: QueueBatch): Promise<void> {
    // A batch confirmed after close() is sent again on the next start (harmless: at least once).
    if (this.closed) return;
    this.cursor = { ...batch.end };
    this.recordCount -= this.batchRecords.get(batch) ?? batch.records.length;
    this.batchRecords.delete(batch);
    await this.saveCursor();
    for (const [segment, size] of [...this.segments]) {
      const consumed =
        segment < this.cursor.segment ||
        (segment === this.cursor.segment && this.cursor.offset >= size);
      if (!consumed || segment === this.writeSegment) continue;
      await this.readHandles.get(segment)?.close();
      this.readHandles.delete(segment);
      await rm(join(this.directory, segmentName(segment)), { force: true });
      this.segments.delete(segment);
    }
    this.events.emit('space');
  }

  private cursorUnsaved = false;
  /**
   * Saves the cursor (atomically: temporary file, then rename). A failure (disk full) is logged once and
   * not fatal: the cursor in memory is right, the next commit saves it, and after a crash the older
   * saved cursor only means a re-send (at least once). Deleting delivered segments gives space back.
   */
  private async saveCursor(): Promise<void> {
    const path = join(this.directory, 'cursor.json');
    try {
      await writeFile(`${path}.tmp`, JSON.stringify(this.cursor), { mode: FILE_MODE });
      await rename(`${path}.tmp`, path);
      if (this.cursorUnsaved) this.log.info('queue: cursor saved again', { queue: this.name });
      this.cursorUnsaved = false;
    } catch (error) {
      await rm(`${path}.tmp`, { force: true }).catch(() => undefined);
      if (!this.cursorUnsaved)
        this.log.warn(
          'queue: cannot save the cursor; delivered findings may be re-sent after a crash',
          {
            queue: this.name,
            error: describe(error),
          },
        );
      this.cursorUnsaved = true;
    }
  }

  /** Syncs what is pending, then closes the files. What was not committed stays for the next run. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.sync();
    this.closed = true;
    this.events.emit('close');
    this.events.emit('space');
    await this.writeHandle?.close();
    for (const handle of this.readHandles.values()) await handle.close();
    this.readHandles.clear();
  }

  /** For status: the bytes on disk of a queue directory, without opening it. */
  static async diskUsage(directory: string): Promise<number> {
    let total = 0;
    for (const file of readdirSync(directory)) {
      if (SEGMENT.test(file)) total += (await stat(join(directory, file))).size;
    }
    return total;
  }
}
