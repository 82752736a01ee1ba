// Waits between retries that end as soon as the destination is back: while any batch waits after a
// connection failure, one cheap probe (the destination's health endpoint, a connect) runs every
// probeIntervalMs, and its first success — or any batch delivered meanwhile — wakes every waiter, so
// delivery resumes within a probe interval of the destination's return, not after each backoff.
import type { SinkError } from '../errors.js';
import type { Destination } from '../types.js';

/** A failure where the destination did not answer at all (refused, reset, timed out, no route). */
export function isUnreachable(error: unknown): boolean {
  const sinkError = error as Partial<SinkError> | undefined;
  return sinkError?.failure === 'UNAVAILABLE' && !sinkError.status;
}

export class RecoveryWatch {
  private readonly waiters = new Set<() => void>();
  private probing = false;

  constructor(
    private readonly destination: Destination,
    private readonly stop: AbortSignal,
    private readonly probeIntervalMs = 250,
  ) {
    stop.addEventListener('abort', () => this.wakeAll(), { once: true });
  }

  /** Something was delivered: whoever waits may try again now. */
  delivered(): void {
    if (this.waiters.size > 0) this.wakeAll();
  }

  /**
   * Sleeps `ms` (the backoff), or less: until the loop stops, something is delivered, or — when `error`
   * says the destination was unreachable — a probe finds it reachable again.
   */
  pause(ms: number, error: unknown): Promise<void> {
    if (this.stop.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waiters.add(wake);
      if (isUnreachable(error)) void this.probe();
    });
  }

  private wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }

  private async probe(): Promise<void> {
    const probe = this.destination.probe?.bind(this.destination);
    if (!probe || this.probing) return;
    this.probing = true;
    try {
      while (this.waiters.size > 0 && !this.stop.aborted) {
        await new Promise((resolve) => setTimeout(resolve, this.probeIntervalMs).unref());
        if (this.waiters.size === 0 || this.stop.aborted) break;
        if (await probe().catch(() => false)) {
          this.wakeAll();
          break;
        }
      }
    } finally {
      this.probing = false;
    }
  }
}
