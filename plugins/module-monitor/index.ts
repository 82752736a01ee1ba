// module.load / module.unload events: do_init_module(mod) runs once the module's code is in place
// and relocated, before its init function; free_module(mod) on unload (or a failed init). Each load
// carries the name, base, size and a SHA-256 of the module's core text, read from guest memory.
import { createHash } from 'node:crypto';
import { merge, type Observable } from 'rxjs';
import type { VmiEvent } from '../../introspect/events/event.js';
import { argument } from '../../introspect/arch/index.js';
import { currentTaskLocator } from '../../introspect/os/linux/current-task.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { readModule, type ModuleInfo } from '../../introspect/os/linux/modules.js';
import {
  currentTaskOf,
  envelope,
  hookEvents,
  processFields,
  unreadable,
} from '../guest-context.js';
import type { DetectorPlugin, PluginContext } from '../types.js';

/** Larger "text" is not a module anyone loads; the hash is skipped rather than read forever. */
const MAX_TEXT_BYTES = 64 << 20;

/** Bytes of the module's executable core: core_layout.text_size (≤ 6.3) or mem[MOD_TEXT].size. */
export function moduleTextSize(kernel: LinuxKernel, module: ModuleInfo): number {
  const r = kernel.reader;
  if (r.hasField('module', 'core_layout.text_size'))
    return r.fieldNumber(module.address, 'module', 'core_layout.text_size');
  if (r.hasField('module', 'mem')) {
    const sizeOffset = r.field('module_memory', 'size').offset;
    return r.u32(module.address + r.offset('module', 'mem') + BigInt(sizeOffset));
  }
  return module.size;
}

export function moduleTextHash(kernel: LinuxKernel, module: ModuleInfo): string | undefined {
  const size = moduleTextSize(kernel, module);
  if (size <= 0 || size > MAX_TEXT_BYTES) return undefined;
  return createHash('sha256').update(kernel.reader.bytes(module.base, size)).digest('hex');
}

export const moduleMonitor: DetectorPlugin = {
  meta: {
    id: 'module-monitor',
    version: '1.0.0',
    description: 'Kernel module loads (name, base, size, SHA-256 of the code) and unloads',
    architectures: ['x86_64', 'aarch64'],
    symbols: ['do_init_module', 'free_module'],
    capabilities: { live: [true], breakpoints: ['hidden', 'int3', 'debugger'] },
    emits: ['module.load', 'module.unload'],
  },
  start({ domain, kernel }: PluginContext): Observable<VmiEvent> {
    const locator = currentTaskLocator(kernel);
    const hook = (symbol: string, type: 'module.load' | 'module.unload'): Observable<VmiEvent> => {
      const address = kernel.symbols.address(symbol)!;
      return hookEvents(
        domain,
        { kind: 'exec', address, name: symbol },
        ({ event }) => {
          const module = readModule(kernel, argument(kernel.arch, event, 0));
          const task = currentTaskOf(kernel, event, locator);
          const sha256 = type === 'module.load' ? moduleTextHash(kernel, module) : undefined;
          return {
            type,
            ...envelope(event),
            process: processFields(kernel, task),
            module: {
              name: module.name,
              base: module.base,
              size: module.size,
              ...(sha256 ? { sha256 } : {}),
            },
            vmi: { rip: address, hook: symbol, symbol },
            details: { module_struct: module.address },
          };
        },
        (event, error) => unreadable(type, event, 'the module', error),
      );
    };
    return merge(hook('do_init_module', 'module.load'), hook('free_module', 'module.unload'));
  },
};
