// A guest for detector unit tests: a fake Linux kernel in memory (the test writes its tasks,
// credentials, modules …) behind a fake Domain, and hook hits with the registers each architecture
// reports (rdi + GS base on x86-64, x0 + SP_EL0 on AArch64).
import { afterEach } from '@jest/globals';
import type { Observable, Subscription } from 'rxjs';
import { X86_64, type Architecture } from '../../introspect/arch/index.js';
import {
  FakeDomain,
  type FakeDomainOptions,
} from '../../introspect/domain/test-support/fake-domain.js';
import type { VmiEvent } from '../../introspect/events/event.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { FakeLinux } from '../../introspect/os/linux/test-support/fake-linux.js';

export interface FakeGuest {
  linux: FakeLinux;
  kernel: LinuxKernel;
  domain: FakeDomain;
  arch: Architecture;
}

/** The kernel of `linux` as it is now, behind a fake Domain that captures from its memory. */
export function fakeGuest(
  linux: FakeLinux,
  arch: Architecture = X86_64,
  options: FakeDomainOptions = {},
): FakeGuest {
  const kernel = linux.kernel(arch);
  const domain = new FakeDomain({
    physical: kernel.reader.space.physical,
    virtual: kernel.reader.space,
    ...options,
  });
  return { linux, kernel, domain, arch };
}

export interface HitOptions {
  /** The task running on the vCPU at the hit. */
  task: bigint;
  /** Integer arguments of the hooked function, in order. */
  args?: bigint[];
  cpu?: number;
  /** The hooked address (the instruction pointer). */
  at?: bigint;
  time?: number;
}

/**
 * A breakpoint event as a backend reports it on this architecture: arguments in the argument
 * registers and the running task where the architecture keeps it (the per-CPU current_task is
 * written for x86-64's GS base to reach).
 */
export function hookHit(guest: FakeGuest, options: HitOptions): VmiEvent {
  const { arch, linux } = guest;
  const cpu = options.cpu ?? 0;
  const registers: Record<string, bigint> = {};
  (options.args ?? []).forEach((value, index) => {
    registers[arch.argumentRegisters[index]!] = value;
  });
  if (arch.currentTask.kind === 'per-cpu') {
    linux.setCurrent(cpu, options.task);
    registers[arch.currentTask.register] = linux.perCpu[cpu]!;
  } else registers[arch.currentTask.register] = options.task;
  if (options.at !== undefined) registers[arch.instructionPointer] = options.at;
  return {
    type: 'breakpoint',
    domain: guest.domain.name,
    vcpu: cpu,
    time: options.time ?? 1,
    timestamp: '2026-12-03T10:00:00.000Z',
    registers,
  };
}

/** Every stream a test collected; unsubscribed after each test, so no detector's timer outlives it. */
const open = new Set<Subscription>();
afterEach(() => {
  for (const subscription of open) subscription.unsubscribe();
  open.clear();
});

/** Subscribes and collects what a stream emits, and whether it failed or ended. */
export function collect(stream: Observable<VmiEvent>): {
  events: VmiEvent[];
  errors: unknown[];
  completed: () => boolean;
  subscription: Subscription;
} {
  const events: VmiEvent[] = [];
  const errors: unknown[] = [];
  let done = false;
  const subscription = stream.subscribe({
    next: (event) => events.push(event),
    error: (error: unknown) => errors.push(error),
    complete: () => (done = true),
  });
  open.add(subscription);
  return { events, errors, completed: () => done, subscription };
}
