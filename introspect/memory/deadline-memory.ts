// A time budget for everything that reads guest memory: a wrapper that, once its deadline has passed,
// fails every read with a typed error. Walkers already turn a failed read into a partial answer with
// a warning, so a command on hostile memory ends with what it had instead of hanging.
import { MemoryError } from '../errors.js';
import type { PhysicalMemory, PhysicalRange } from './types.js';

/** Reads between two looks at the clock: cheap against a read, fine-grained against a second. */
const READS_PER_CLOCK_CHECK = 256;

/** A read refused because the command's time budget is spent (still a MemoryError: unreadable). */
export class TimeBudgetError extends MemoryError {
  constructor(budgetMs: number, address: bigint, layer: string) {
    super(`time budget of ${budgetMs / 1000} s spent, read refused`, address, layer);
  }
}

export class DeadlineMemory implements PhysicalMemory {
  private reads = 0;
  private readonly deadline: number;
  /** True once a read was refused: the answer the caller builds is partial. */
  expired = false;

  constructor(
    private readonly inner: PhysicalMemory,
    readonly budgetMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.deadline = now() + budgetMs;
  }

  get name(): string {
    return this.inner.name;
  }

  get inMemory(): boolean | undefined {
    return this.inner.inMemory;
  }

  get entryFrame(): ((frame: bigint) => bigint | undefined) | undefined {
    return this.inner.entryFrame;
  }

  ranges(): readonly PhysicalRange[] {
    return this.inner.ranges();
  }

  readInto(address: bigint, target: Uint8Array): void {
    if (
      this.expired ||
      (++this.reads % READS_PER_CLOCK_CHECK === 0 && this.now() > this.deadline)
    ) {
      this.expired = true;
      throw new TimeBudgetError(this.budgetMs, address, this.inner.name);
    }
    this.inner.readInto(address, target);
  }

  close(): void {
    this.inner.close();
  }
}
