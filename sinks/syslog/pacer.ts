// Pacing for UDP syslog: datagrams leave at most `rate` per second (bursts of a few milliseconds'
// worth), first come first served across concurrent batches, so a receiver's socket buffer is not overrun.
export class Pacer {
  private tokens: number;
  private last = performance.now();
  private queue: Promise<void> = Promise.resolve();
  /** Datagrams that had to wait for their turn (pacing engaged). */
  waited = 0;

  constructor(
    private readonly rate: number,
    /** Largest burst, in datagrams: 10 ms' worth by default (at least 1). */
    private readonly burst = Math.max(1, Math.floor(rate / 100)),
  ) {
    this.tokens = this.burst;
  }

  /** Resolves when the next datagram may leave. */
  take(): Promise<void> {
    const turn = this.queue.then(() => this.next());
    this.queue = turn;
    return turn;
  }

  private async next(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const now = performance.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1000);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      if (attempt === 0) this.waited += 1;
      const waitMs = Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.rate));
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}
