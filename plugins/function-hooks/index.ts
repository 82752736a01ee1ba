// Function hooks: an ftrace_ops (ftrace_ops_list) or kprobe/kretprobe (kprobe_table) whose handler
// lies outside the kernel's text — a module (or anything else) hooking a kernel function without
// writing a table. Reported as an integrity.violation (details.check function_hook) naming the
// hooked symbol(s) and the module the handler leads into, hidden modules included; live once per
// hook while it stands, on a snapshot at once. The kernel's own hooks (kprobe_ftrace_ops, BPF's
// kprobe_dispatcher …) have handlers in its text and raise nothing.
import { defer, type Observable, type SchedulerLike } from 'rxjs';
import type { VmiEvent } from '../../introspect/events/event.js';
import {
  foreignHandlers,
  listFunctionHooks,
  type FunctionHook,
  type HookHandler,
} from '../../introspect/os/linux/function-hooks.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { moduleSymbol } from '../../introspect/os/linux/module-symbols.js';
import { moduleCrossView } from '../../introspect/os/linux/module-views.js';
import type { ModuleInfo } from '../../introspect/os/linux/modules.js';
import { periodicEvents } from '../guest-context.js';
import { standingCheck, type EventBase } from '../standing-check.js';
import type { DetectorPlugin, PluginContext } from '../types.js';

export const FUNCTION_HOOK_INTERVAL_MS = 1000;

const hex = (value: bigint): string => `0x${value.toString(16)}`;
/** `name` for a hook on a function's first byte, `name+0xoff` inside it. */
const plain = (symbol: string | undefined): string | undefined => symbol?.replace(/\+0x0$/, '');

export interface ForeignHook {
  hook: FunctionHook;
  handler: HookHandler;
  /** The module the handler is in (hidden ones included), when it is in one. */
  module?: ModuleInfo;
  /** The handler's name from that module's own symbols, `name+0xoff`. */
  symbol?: string;
}

/** Every hook handler outside the kernel text; modules (hidden ones too) are listed when needed. */
export function foreignHooks(kernel: LinuxKernel): ForeignHook[] {
  let modules: ModuleInfo[] | undefined;
  const known = (): ModuleInfo[] =>
    (modules ??= moduleCrossView(kernel).modules.flatMap((sighting) =>
      sighting.module ? [sighting.module] : [],
    ));
  const owner = (address: bigint): ModuleInfo | undefined =>
    known().find((module) => address >= module.base && address < module.base + BigInt(module.size));
  return listFunctionHooks(kernel, known).hooks.flatMap((hook) =>
    foreignHandlers(hook).map((handler) => {
      const module = handler.location.where === 'module' ? owner(handler.address) : undefined;
      if (!module) return { hook, handler };
      const symbol = moduleSymbol(kernel, module.address, handler.address);
      return symbol ? { hook, handler, module, symbol } : { hook, handler, module };
    }),
  );
}

export function functionHookEvent(
  { hook, handler, module, symbol }: ForeignHook,
  base: EventBase,
): VmiEvent {
  const targets = hook.targets.map((target) => plain(target.symbol) ?? hex(target.address));
  const first = hook.targets[0];
  const hooked = hook.allFunctions
    ? 'every traceable function'
    : targets.length > 3
      ? `${targets.slice(0, 3).join(', ')} and ${targets.length - 3} more`
      : targets.join(', ');
  const { location } = handler;
  const where =
    location.where === 'module' ? `module ${location.module}` : 'memory outside kernel and modules';
  return {
    type: 'integrity.violation',
    ...base,
    vmi: {
      symbol: hook.allFunctions ? '*' : (plain(first?.symbol) ?? (first ? hex(first.address) : '')),
      ...(first && !hook.allFunctions ? { gva: first.address } : {}),
      hook: hook.kind,
      new_value: handler.address,
    },
    ...(module
      ? { module: { name: module.name, base: module.base, size: module.size } }
      : location.module
        ? { module: { name: location.module } }
        : {}),
    details: {
      check: 'function_hook',
      message: `${hook.kind} on ${hooked}: its ${handler.role} ${symbol ? `${symbol} (${location.symbol})` : (location.symbol ?? hex(handler.address))} is in ${where}`,
      target_location: location,
      handler_role: handler.role,
      ...(symbol ? { handler_symbol: symbol } : {}),
      hooked: hook.allFunctions ? ['*'] : targets,
      object: hook.object,
    },
  };
}

export interface FunctionHooksOptions {
  intervalMs?: number;
  /** The periodic check's clock (rxjs' async scheduler unless a test gives a virtual one). */
  scheduler?: SchedulerLike;
}

export function createFunctionHooks(options: FunctionHooksOptions = {}): DetectorPlugin {
  return {
    meta: {
      id: 'function-hooks',
      version: '1.0.0',
      description:
        'ftrace_ops and kprobes whose handlers lie outside the kernel text (function hooks by modules)',
      architectures: ['x86_64', 'aarch64'],
      // ftrace_ops_list and kprobe_table are each checked where the kernel has them.
      symbols: ['_stext', '_etext'],
      capabilities: { live: [true] },
      emits: ['integrity.violation'],
    },
    start({ domain, kernel }: PluginContext): Observable<VmiEvent> {
      return defer(() =>
        periodicEvents(
          options.intervalMs ?? FUNCTION_HOOK_INTERVAL_MS,
          standingCheck(domain, kernel, {
            read: () => foreignHooks(kernel),
            key: ({ hook, handler }) =>
              `${hex(hook.object)}:${handler.role}=${hex(handler.address)}:${hook.targets.map((t) => hex(t.address)).join(',')}`,
            event: functionHookEvent,
          }),
          options.scheduler,
        ),
      );
    },
    judge: async ({ kernel, domain, timestamp }) => {
      const base = { domain, time: performance.now(), timestamp };
      return foreignHooks(kernel).map((found) => functionHookEvent(found, base));
    },
  };
}

export const functionHooks = createFunctionHooks();
