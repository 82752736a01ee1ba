// process.exit events: a process's last thread leaving, read at do_exit (the exit code is its first
// argument, the exiting task is current). Threads other than the group leader are not processes and are skipped.
import type { Observable } from 'rxjs';
import type { VmiEvent } from '../../introspect/events/event.js';
import { argument } from '../../introspect/arch/index.js';
import { currentTaskLocator } from '../../introspect/os/linux/current-task.js';
import {
  currentTaskCaptures,
  envelope,
  hookEvents,
  hookTask,
  unreadable,
} from '../guest-context.js';
import type { DetectorPlugin, PluginContext } from '../types.js';

export const processExit: DetectorPlugin = {
  meta: {
    id: 'process-exit',
    version: '1.0.0',
    description: 'Every process exit in the guest (pid, name, exit status), from do_exit',
    architectures: ['x86_64', 'aarch64'],
    symbols: ['do_exit'],
    capabilities: { live: [true], breakpoints: ['hidden', 'int3', 'debugger'] },
    emits: ['process.exit'],
  },
  start({ domain, kernel }: PluginContext): Observable<VmiEvent> {
    const address = kernel.symbols.address('do_exit')!;
    const locator = currentTaskLocator(kernel);
    // The exiting task is read by the backend at the hit where it can (no round trip); else held.
    const capture = domain.capabilities.captures ? currentTaskCaptures(kernel, locator) : undefined;
    return hookEvents(
      domain,
      { kind: 'exec', address, name: 'do_exit', ...(capture ? { capture, hold: false } : {}) },
      (context) => {
        const { event } = context;
        const { task, process, user } = hookTask(kernel, context, locator);
        if (task.pid !== task.tgid) return undefined;
        const code = Number(argument(kernel.arch, event, 0) & 0xffffn);
        return {
          type: 'process.exit',
          ...envelope(event),
          process,
          user,
          vmi: { rip: address, hook: 'do_exit' },
          details: {
            exit_code: (code >> 8) & 0xff,
            ...(code & 0x7f ? { signal: code & 0x7f } : {}),
          },
        };
      },
      (event, error) => unreadable('process.exit', event, 'the exiting task', error),
    );
  },
};
