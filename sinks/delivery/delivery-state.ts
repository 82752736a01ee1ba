// What a queued sink knows about its own delivery: the counters, the health and the last error/success,
// with the rules for moving between ok, retrying and failing (and the log line each move deserves).
import { SinkError } from '../errors.js';
import type { SinkLog } from '../log.js';
import type { Redactor } from '../redact.js';
import type { SinkHealth, SinkMetrics } from '../types.js';

export interface DeliveryCounters {
  accepted: number;
  sent: number;
  retried: number;
  deadLettered: number;
  dropped: number;
}

export class DeliveryState {
  readonly counters: DeliveryCounters = {
    accepted: 0,
    sent: 0,
    retried: 0,
    deadLettered: 0,
    dropped: 0,
  };
  health: SinkHealth = 'ok';
  lastError: string | undefined;
  lastErrorAt: string | undefined;
  lastSentAt: string | undefined;

  constructor(
    private readonly name: string,
    private readonly log: SinkLog,
    private readonly redactor: Redactor,
    /** Consecutive failures after which the health says 'failing' rather than 'retrying'. */
    private readonly failingAfter: number,
  ) {}

  /** A delivery attempt failed (the `consecutive`-th in a row): record it, log state changes. */
  failed(error: unknown, consecutive: number): void {
    this.lastError = this.redactor.message(error);
    this.lastErrorAt = new Date().toISOString();
    const next: SinkHealth =
      consecutive >= this.failingAfter ||
      (error instanceof SinkError && error.failure === 'REFUSED')
        ? 'failing'
        : 'retrying';
    if (next !== this.health || consecutive === 1 || consecutive % 20 === 0)
      this.log.warn('sink: delivery failed, will retry', {
        sink: this.name,
        error: this.lastError,
        attempt: consecutive,
      });
    this.health = next;
  }

  /** Set while the queue cannot write (disk full): the sink refuses findings, so it is failing. */
  private storageError: string | undefined;

  /** write() refused `count` findings (queue full, disk full): counted in `dropped`, shown in the health. */
  refused(error: unknown, count = 1): void {
    this.counters.dropped += count;
    if (error instanceof SinkError && error.failure === 'STORAGE') {
      const message = this.redactor.message(error);
      if (this.storageError === undefined)
        this.log.error('sink: the queue cannot write to disk, findings are refused', {
          sink: this.name,
          error: message,
        });
      this.storageError = message;
      this.lastError = message;
      this.lastErrorAt = new Date().toISOString();
    }
  }

  /** write() accepted `count` findings: the queue writes again. */
  accepted(count = 1): void {
    this.counters.accepted += count;
    if (this.storageError === undefined) return;
    this.storageError = undefined;
    this.log.info('sink: the queue writes to disk again', { sink: this.name });
  }

  /** The destination confirmed `count` findings. */
  delivered(count: number): void {
    this.counters.sent += count;
    this.lastSentAt = new Date().toISOString();
  }

  /** A whole batch went through: leave retrying/failing, and say so. */
  recovered(): void {
    if (this.health === 'ok' || this.health === 'closed') return;
    this.log.info('sink: delivering again', { sink: this.name });
    this.health = 'ok';
  }

  /** The delivery loop stopped for good (an internal error): the sink cannot deliver any more. */
  stopped(error: unknown): void {
    this.health = 'failing';
    this.lastError = this.redactor.message(error);
    this.lastErrorAt = new Date().toISOString();
    this.log.error('sink: delivery loop stopped', { sink: this.name, error: this.lastError });
  }

  snapshot(queue: { records: number; diskBytes: number }): SinkMetrics {
    return {
      sink: this.name,
      health: this.storageError !== undefined && this.health !== 'closed' ? 'failing' : this.health,
      ...this.counters,
      queued: queue.records,
      queuedBytes: queue.diskBytes,
      // While the disk refuses findings that is the error to show, whatever delivery does meanwhile.
      ...(this.storageError !== undefined
        ? { lastError: this.storageError, lastErrorAt: this.lastErrorAt }
        : this.lastError !== undefined
          ? { lastError: this.lastError, lastErrorAt: this.lastErrorAt }
          : {}),
      ...(this.lastSentAt !== undefined ? { lastSentAt: this.lastSentAt } : {}),
    };
  }
}
