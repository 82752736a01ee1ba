// Write traps on every frame of the protected regions, armed and disarmed as one: free with hardware
// (EPT) traps, so armed always; with the TCG plugin every kernel store is filtered, so by default
// armed only while some vCPU runs with CR0.WP clear (the usual way to write read-only kernel memory).
import { merge, Observable, Subject, type Subscription } from 'rxjs';
import type { Domain, HookContext } from '../../introspect/domain/types.js';
import type { VmiEvent } from '../../introspect/events/event.js';
import { hookEvents, unreadable } from '../guest-context.js';
import type { ProtectedRegions } from './regions.js';

export type WriteTrapMode = 'always' | 'while-wp-clear';

export class WriteTraps {
  private readonly written = new Subject<VmiEvent>();
  private armed: Subscription | undefined;
  /** vCPUs running with CR0.WP clear now. */
  private readonly wpClear = new Set<number>();

  constructor(
    private readonly domain: Domain,
    private readonly regions: ProtectedRegions,
    readonly mode: WriteTrapMode,
    private readonly onWrite: (context: HookContext) => Promise<VmiEvent | undefined>,
  ) {}

  get isArmed(): boolean {
    return this.armed !== undefined;
  }

  arm(): void {
    if (this.armed) return;
    this.armed = merge(
      ...this.regions.frames().map((frame) =>
        hookEvents(
          this.domain,
          {
            kind: 'memory',
            frame,
            access: { w: true },
            kernelOnly: true,
            name: 'kernel-integrity',
          },
          this.onWrite,
          (event, error) => unreadable('kernel.write', event, 'the write', error),
        ),
      ),
    ).subscribe({
      next: (event) => this.written.next(event),
      error: (error: unknown) => this.written.error(error),
    });
  }

  disarm(): void {
    this.armed?.unsubscribe();
    this.armed = undefined;
  }

  /**
   * A CR0 write on `vcpu` (while-wp-clear mode): arms when the first vCPU clears WP, disarms when
   * none runs with it clear. True when it just armed (the caller holds the vCPU until the traps
   * are in place).
   */
  onCr0(vcpu: number, value: bigint, wp: bigint): boolean {
    if (this.mode !== 'while-wp-clear') return false;
    if ((value & wp) === 0n) this.wpClear.add(vcpu);
    else this.wpClear.delete(vcpu);
    if (this.wpClear.size > 0 && !this.armed) {
      this.arm();
      return true;
    }
    if (this.wpClear.size === 0) this.disarm();
    return false;
  }

  /** The trapped writes' events, while subscribed (armed from the start in always mode). */
  events(): Observable<VmiEvent> {
    return new Observable<VmiEvent>((subscriber) => {
      const subscription = this.written.subscribe(subscriber);
      if (this.mode === 'always') this.arm();
      return () => {
        subscription.unsubscribe();
        this.disarm();
      };
    });
  }
}
