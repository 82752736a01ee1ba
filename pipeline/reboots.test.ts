// Unit tests of following a guest across reboots, on a fake domain (the restart on a real next kernel
// is tested in qemu-process.integration.test.ts): the event, the detectors stopped, the wait.
import { Observable } from 'rxjs';
import type { VcpuState } from '../introspect/domain/vcpu.js';
import { FakeDomain } from '../introspect/domain/test-support/fake-domain.js';
import type { VmiEvent } from '../introspect/events/event.js';
import type { LinuxKernel } from '../introspect/os/linux/linux-kernel.js';
import { acrossReboots } from './reboots.js';

/** A fake domain that reboots when told, with vCPUs still in the firmware (no kernel to find). */
class RebootingDomain extends FakeDomain {
  private readonly listeners = new Set<(reason: string) => void>();
  registerReads = 0;
  onReboot(listener: (reason: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  reboot(reason: string): void {
    for (const listener of this.listeners) listener(reason);
  }
  vcpuStates(): Promise<readonly VcpuState[]> {
    this.registerReads += 1;
    return Promise.resolve([{ index: 0, registers: { cr0: 0x10n, cr3: 0n, rip: 0xfff0n } }]);
  }
}

const kernel = {} as LinuxKernel;

/** Detectors that count their starts and stops and emit one event when started. */
function detectors() {
  const state = { starts: 0, stops: 0 };
  const start = () =>
    new Observable<VmiEvent>((subscriber) => {
      state.starts += 1;
      subscriber.next({ type: 'process.exec', domain: 'fake-guest', time: 0 });
      return () => (state.stops += 1);
    });
  return { state, start };
}

const tick = (ms = 30) => new Promise((done) => setTimeout(done, ms));

describe('acrossReboots', () => {
  it('a domain that cannot tell runs the detectors once, as they are', () => {
    const domain = new FakeDomain();
    const { state, start } = detectors();
    const seen: VmiEvent[] = [];
    acrossReboots(domain, kernel, start)
      .subscribe((event) => seen.push(event))
      .unsubscribe();
    expect(state).toEqual({ starts: 1, stops: 1 });
    expect(seen.map((event) => event.type)).toEqual(['process.exec']);
  });

  it('a reboot is one guest.reboot event, the detectors stop, and the guest is watched until its next kernel', async () => {
    const domain = new RebootingDomain();
    const { state, start } = detectors();
    const seen: VmiEvent[] = [];
    const lines: string[] = [];
    const subscription = acrossReboots(domain, kernel, start, {
      pollMs: 10,
      notify: (line) => lines.push(line),
    }).subscribe({ next: (event) => seen.push(event) });
    domain.reboot('RESET (guest-reset)');
    await tick();
    expect(seen.map((event) => event.type)).toEqual(['process.exec', 'guest.reboot']);
    expect(seen[1]).toMatchObject({
      lifecycle: { state: 'rebooted', reason: 'RESET (guest-reset)' },
    });
    expect(state).toEqual({ starts: 1, stops: 1 });
    expect(lines).toEqual([
      'guest fake-guest: RESET (guest-reset): hooks removed, periodic checks stopped; waiting for its next kernel',
    ]);
    // vCPUs in the firmware: no kernel yet, the registers are read again and again.
    const reads = domain.registerReads;
    expect(reads).toBeGreaterThan(0);
    // A second reset during the wait (libvirt: SHUTDOWN then RESET) is no second event.
    domain.reboot('RESET (host-qmp-system-reset)');
    await tick();
    expect(seen.filter((event) => event.type === 'guest.reboot')).toHaveLength(1);
    expect(domain.registerReads).toBeGreaterThan(reads);
    subscription.unsubscribe();
    await tick();
    const after = domain.registerReads;
    await tick();
    expect(domain.registerReads).toBe(after); // the wait ended with the subscription
    expect(state.starts).toBe(1);
  });

  it('a domain that reports reboots but cannot read registers ends the stream with one clear error', async () => {
    const domain = new RebootingDomain();
    Object.defineProperty(domain, 'vcpuStates', { value: undefined });
    const { start } = detectors();
    const failed = new Promise<Error>((resolve) =>
      acrossReboots(domain, kernel, start).subscribe({ error: (error: Error) => resolve(error) }),
    );
    domain.reboot('RESET');
    expect((await failed).message).toMatch(
      /fake-guest: the guest rebooted, and this backend cannot read vCPU registers .*attach again/,
    );
  });
});
