// VM-level control shared by the live QEMU domains: pause and resume over QMP, and the generation
// count (any resume starts a new one; caches of guest memory listen for it).
import { RingsideError } from '../../errors.js';
import type { QmpChannel } from './qmp.js';

export class VmControl {
  private readonly generationListeners = new Set<() => void>();

  constructor(
    private readonly name: string,
    private readonly qmp: QmpChannel | undefined,
  ) {}

  /** Pauses nest: detectors checking the guest at the same time each hold it paused until the last resumes. */
  private holds = 0;
  private transition: Promise<void> = Promise.resolve();

  /** Whether the outermost pause stopped a running guest (one found stopped is left stopped). */
  private stoppedByPause = false;

  async pause(): Promise<void> {
    const qmp = this.requireQmp('pausing');
    this.holds += 1;
    if (this.holds === 1 && !this.stoppedForGood)
      this.transition = this.settle(async () => {
        // Stopped by its user, virsh suspend or another tool: read as it is, and not resumed after.
        this.stoppedByPause = false;
        const { running } = await qmp.execute<{ running: boolean }>('query-status');
        if (!running) return;
        await qmp.execute('stop');
        this.stoppedByPause = true; // only a stop that happened is undone by the resume
      });
    await this.transition;
  }

  async resume(): Promise<void> {
    const qmp = this.requireQmp('resuming');
    this.holds = Math.max(0, this.holds - 1);
    // A guest a response action stopped stays stopped: a periodic check's resume must not undo it.
    if (this.holds === 0 && !this.stoppedForGood && this.stoppedByPause) {
      this.stoppedByPause = false;
      this.newGeneration();
      this.transition = this.settle(() => qmp.execute('cont'));
    }
    await this.transition;
  }

  /** Runs QMP commands one after another, whatever became of the one before. */
  private settle(command: () => Promise<unknown>): Promise<void> {
    return this.transition
      .catch(() => undefined)
      .then(command)
      .then(() => undefined);
  }

  /**
   * An ELF core of guest memory with register notes (QMP dump-guest-memory; QEMU stops the guest
   * for the dump and lets it run on after, unless it was stopped already).
   */
  async dump(path: string): Promise<void> {
    const qmp = this.requireQmp('a memory dump');
    let failure: unknown;
    this.transition = this.settle(() =>
      qmp
        .execute('dump-guest-memory', { paging: false, protocol: `file:${path}`, detach: false })
        .catch((error: unknown) => void (failure = error)),
    );
    await this.transition;
    if (failure !== undefined) throw failure;
  }

  /** Set by stop(): pause/resume pairs of detectors no longer let the guest run. */
  private stoppedForGood = false;

  /**
   * Stops the guest for good (a response action): Ringside does not let it run again, nor do the
   * resumes of checks that paused it meanwhile; someone resumes it by hand (QMP cont, virsh resume).
   */
  async stop(): Promise<void> {
    const qmp = this.requireQmp('pausing');
    this.stoppedForGood = true;
    let failure: unknown;
    this.transition = this.settle(() =>
      qmp.execute('stop').catch((error: unknown) => void (failure = error)),
    );
    await this.transition;
    if (failure !== undefined) throw failure;
  }

  get canAct(): boolean {
    return this.qmp !== undefined;
  }

  onNewGeneration(listener: () => void): () => void {
    this.generationListeners.add(listener);
    return () => this.generationListeners.delete(listener);
  }

  /** The guest ran (or is about to): whatever was read of its memory may be stale. */
  newGeneration(): void {
    for (const listener of this.generationListeners) listener();
  }

  close(): void {
    this.qmp?.close();
  }

  private requireQmp(what: string): QmpChannel {
    if (!this.qmp)
      throw new RingsideError('CAPABILITY', `${this.name}: ${what} needs a QMP connection`);
    return this.qmp;
  }
}
