// VM-level control shared by the live QEMU domains: pause and resume over QMP, and the generation
// count (any resume starts a new one; caches of guest memory listen for it).
import { RingsideError } from '../../errors.js';
import type { QmpClient } from './qmp.js';

export class VmControl {
  private readonly generationListeners = new Set<() => void>();

  constructor(
    private readonly name: string,
    private readonly qmp: QmpClient | undefined,
  ) {}

  async pause(): Promise<void> {
    await this.requireQmp('pausing').execute('stop');
  }

  async resume(): Promise<void> {
    const qmp = this.requireQmp('resuming');
    this.newGeneration();
    await qmp.execute('cont');
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

  private requireQmp(what: string): QmpClient {
    if (!this.qmp)
      throw new RingsideError('CAPABILITY', `${this.name}: ${what} needs a QMP connection`);
    return this.qmp;
  }
}
