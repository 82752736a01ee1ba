// Live detectors that outlive a guest reboot: when the domain says its guest reset, every detector
// stops (its hooks come out, periodic checks end), a guest.reboot event is emitted, the next kernel is
// found from the vCPUs' CR3 once it has finished booting, and the detectors start again on it.
import { Observable, type Subscription } from 'rxjs';
import type { Domain } from '../introspect/domain/types.js';
import type { VcpuState } from '../introspect/domain/vcpu.js';
import { GuestStructureError, MemoryError, RingsideError } from '../introspect/errors.js';
import type { VmiEvent } from '../introspect/events/event.js';
import { openLinuxKernel } from '../introspect/os/linux/linux-kernel.js';
import type { LinuxKernel, OpenKernelOptions } from '../introspect/os/linux/linux-kernel.js';

export interface RebootOptions {
  /** One line per step for the user (the CLI writes them to stderr). */
  notify?: (line: string) => void;
  /** Runs once the detectors are started again on the next kernel. */
  onRestarted?: (kernel: LinuxKernel) => void;
  /** How often the booting guest is looked at (default 1000 ms). */
  pollMs?: number;
  /** How the kernel was opened at attach (symbols, types), used again for the next one. */
  kernelOptions?: OpenKernelOptions;
}

const CR0_PG = 1n << 31n;
const EFER_LMA = 1n << 10n;
/** Entry 511 of the top-level table maps the kernel image on x86-64 (4- and 5-level). */
const KERNEL_HALF_ENTRY = 511n * 8n;

/**
 * `start(kernel)`'s events, restarted on each reboot the domain reports (domains that cannot tell
 * run `start` once). Errors of the domain (QEMU gone) end the stream as before.
 */
export function acrossReboots(
  domain: Domain,
  kernel: LinuxKernel,
  start: (kernel: LinuxKernel) => Observable<VmiEvent>,
  options: RebootOptions = {},
): Observable<VmiEvent> {
  // The first start is made now, so that a detector refusing this guest throws here as before.
  const first = start(kernel);
  if (!domain.onReboot) return first;
  const onReboot = domain.onReboot.bind(domain);
  return new Observable<VmiEvent>((subscriber) => {
    let running: Subscription | undefined;
    let finding = 0; // the reboot being handled; a newer one supersedes its wait
    let closed = false;
    const run = (events: Observable<VmiEvent>): void => {
      running = events.subscribe({
        next: (event) => subscriber.next(event),
        error: (error: unknown) => subscriber.error(error),
      });
    };
    const stopRunning = (): void => {
      running?.unsubscribe();
      running = undefined;
    };
    const off = onReboot((reason) => {
      const waiting = finding > 0 && running === undefined;
      const turn = ++finding;
      stopRunning();
      if (!waiting) {
        subscriber.next({
          type: 'guest.reboot',
          domain: domain.name,
          time: performance.now(),
          timestamp: new Date().toISOString(),
          lifecycle: { state: 'rebooted', reason },
        });
        options.notify?.(
          `guest ${domain.name}: ${reason}: hooks removed, periodic checks stopped; waiting for its next kernel`,
        );
      }
      nextKernel(domain, options, () => closed || turn !== finding).then(
        (next) => {
          if (!next || closed || turn !== finding) return;
          options.notify?.(
            `guest ${domain.name}: Linux ${next.release} found again (KASLR slide 0x${next.slide.toString(16)}); planting hooks`,
          );
          try {
            run(start(next));
          } catch (error) {
            subscriber.error(error);
            return;
          }
          options.onRestarted?.(next);
        },
        (error: unknown) => subscriber.error(error),
      );
    });
    run(first);
    return () => {
      closed = true;
      off();
      stopRunning();
    };
  });
}

/**
 * Waits until the guest runs a kernel that has finished booting and opens it, from a vCPU's CR3 (so
 * the old kernel's pages, still in RAM after a reset, are never mistaken for it). Undefined when
 * `cancelled` turns true first.
 */
export async function nextKernel(
  domain: Domain,
  options: RebootOptions,
  cancelled: () => boolean,
): Promise<LinuxKernel | undefined> {
  if (!domain.vcpuStates)
    throw new RingsideError(
      'CAPABILITY',
      `${domain.name}: the guest rebooted, and this backend cannot read vCPU registers to find its next kernel: attach again`,
    );
  const pollMs = options.pollMs ?? 1000;
  let candidate: { key: string; kernel: LinuxKernel } | undefined;
  while (!cancelled()) {
    const vcpus = pagedVcpus(await domain.vcpuStates());
    if (vcpus.length > 0 && kernelHalfMapped(domain, vcpus)) {
      try {
        const key = vcpus.map((vcpu) => vcpu.registers.cr3!.toString(16)).join(',');
        if (!candidate || candidate.key !== key)
          candidate = { key, kernel: openFromCr3(domain, vcpus, options) };
        candidate.kernel.newGeneration();
        if (bootFinished(candidate.kernel)) {
          // Opened again now that it runs: its own page table (init_top_pgt) instead of the boot one.
          const kernel = openFromCr3(domain, vcpus, options);
          domain.onNewGeneration(() => kernel.newGeneration());
          return kernel;
        }
      } catch (error) {
        if (!(error instanceof GuestStructureError || error instanceof MemoryError)) throw error;
        candidate = undefined; // not a kernel yet, or mid-way through being loaded
      }
    }
    await new Promise((done) => setTimeout(done, pollMs));
  }
  return undefined;
}

/** vCPUs in long mode with paging on and a page table: the only ones a kernel can be found from. */
function pagedVcpus(vcpus: readonly VcpuState[]): VcpuState[] {
  return vcpus.filter(({ registers: r }) => {
    const { cr0, cr3, efer } = r;
    return (
      cr0 !== undefined &&
      (cr0 & CR0_PG) !== 0n &&
      efer !== undefined &&
      (efer & EFER_LMA) !== 0n &&
      cr3 !== undefined &&
      cr3 !== 0n
    );
  });
}

/** A cheap check before opening: some vCPU's top-level table maps the kernel half. */
function kernelHalfMapped(domain: Domain, vcpus: readonly VcpuState[]): boolean {
  const entry = new Uint8Array(8);
  return vcpus.some(({ registers }) => {
    try {
      domain.physical.readInto(
        (registers.cr3! & ~0xfffn & ((1n << 52n) - 1n)) + KERNEL_HALF_ENTRY,
        entry,
      );
    } catch {
      return false;
    }
    return (entry[0]! & 1) === 1;
  });
}

function openFromCr3(
  domain: Domain,
  vcpus: readonly VcpuState[],
  options: RebootOptions,
): LinuxKernel {
  const kernel = openLinuxKernel(domain.physical, vcpus, {
    ...options.kernelOptions,
    architecture: 'x86_64',
  });
  if (kernel.image.rootSource !== 'cr3')
    throw new GuestStructureError(
      'the kernel was found by a scan, not from a vCPU: not yet booted',
    );
  return kernel;
}

/**
 * Whether the kernel has left its boot (system_state past SYSTEM_SCHEDULING, as its own enum says
 * when BTF has it): user space runs and its structures are those the detectors read.
 */
function bootFinished(kernel: LinuxKernel): boolean {
  const address = kernel.symbols.address('system_state');
  if (address === undefined) return true; // nothing to wait on: go by the kernel being there
  const state = kernel.reader.u32(address);
  return state >= systemRunning(kernel);
}

const RUNNING = new WeakMap<LinuxKernel, number>();

function systemRunning(kernel: LinuxKernel): number {
  let running = RUNNING.get(kernel);
  if (running === undefined) RUNNING.set(kernel, (running = systemRunningEnum(kernel)));
  return running;
}

function systemRunningEnum(kernel: LinuxKernel): number {
  for (const id of kernel.types.ids()) {
    const type = kernel.types.get(id);
    if (type.kind === 'enum' && type.name === 'system_states') {
      const running = type.values.find((value) => value.name === 'SYSTEM_RUNNING');
      if (running) return Number(running.value);
    }
  }
  return 2; // SYSTEM_RUNNING before 5.8 (BOOTING, SCHEDULING, RUNNING)
}
