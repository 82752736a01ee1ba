// module.load / module.unload events: do_init_module(mod) runs once the module's code is in place
// and relocated, before its init function; free_module(mod) on unload (or a failed init). Each load
// carries the name, base, size, a SHA-256 of the module's core text and the taints it brought, read
// from guest memory. On a snapshot, each module on the list that taints the kernel (out-of-tree,
// unsigned, proprietary, force-loaded) is reported as the module.load that brought it.
import { createHash } from 'node:crypto';
import { merge, type Observable } from 'rxjs';
import type { VmiEvent } from '../../introspect/events/event.js';
import { argument } from '../../introspect/arch/index.js';
import { currentTaskLocator } from '../../introspect/os/linux/current-task.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import {
  listModules,
  moduleTaints,
  readModule,
  type ModuleInfo,
} from '../../introspect/os/linux/modules.js';
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

/** The taints a rootkit module brings: proprietary, forced, out-of-tree, unsigned. */
const SUSPICIOUS_TAINTS = new Set(['P', 'F', 'O', 'E']);

/** module.load events for the listed modules that taint the kernel (judging a snapshot). */
export function taintingModuleEvents(
  kernel: LinuxKernel,
  base: Pick<VmiEvent, 'domain' | 'time' | 'timestamp'>,
): VmiEvent[] {
  const events: VmiEvent[] = [];
  for (const module of listModules(kernel).modules) {
    const taints = moduleTaints(kernel, module);
    if (![...taints].some((letter) => SUSPICIOUS_TAINTS.has(letter))) continue;
    const sha256 = moduleTextHash(kernel, module);
    events.push({
      type: 'module.load',
      ...base,
      module: {
        name: module.name,
        base: module.base,
        size: module.size,
        ...(sha256 ? { sha256 } : {}),
      },
      details: { module_struct: module.address, taints, source: 'module list' },
    });
  }
  return events;
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
            details: { module_struct: module.address, taints: moduleTaints(kernel, module) },
          };
        },
        (event, error) => unreadable(type, event, 'the module', error),
      );
    };
    return merge(hook('do_init_module', 'module.load'), hook('free_module', 'module.unload'));
  },
  judge: async ({ kernel, domain, timestamp }) =>
    taintingModuleEvents(kernel, { domain, time: performance.now(), timestamp }),
};
