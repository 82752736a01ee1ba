// The function hooks a kernel has registered: ftrace_ops on `ftrace_ops_list` (with the functions
// their filter hash names) and kprobes/kretprobes in `kprobe_table`, each handler located (kernel
// text, which module, or elsewhere). Every walk is bounded; an unreadable object is a problem, not
// the end of the answer.
import { isRingsideError } from '../../errors.js';
import { walkHlist } from './hlist-walk.js';
import { locateCode, symbolName, type CodeLocation } from './integrity.js';
import type { LinuxKernel } from './linux-kernel.js';
import { walkList, type WalkProblem } from './list-walk.js';
import type { ModuleInfo } from './modules.js';
import { nextSymbolAddress } from './profile/symbol-table.js';

export type FunctionHookKind = 'ftrace' | 'kprobe' | 'kretprobe';

export interface HookHandler {
  /** The field holding it: func, saved_func, pre_handler, post_handler, handler, entry_handler. */
  role: string;
  address: bigint;
  location: CodeLocation;
}

export interface FunctionHook {
  kind: FunctionHookKind;
  /** The struct ftrace_ops / kprobe / kretprobe. */
  object: bigint;
  /** Hooked addresses with their symbols; an ftrace_ops with an empty filter traces every function. */
  targets: { address: bigint; symbol?: string }[];
  /** True for ftrace_ops whose filter hash is empty: every traceable function. */
  allFunctions?: boolean;
  handlers: HookHandler[];
}

export interface FunctionHooks {
  hooks: FunctionHook[];
  problems: WalkProblem[];
}

/** Bounds: ftrace_ops registered, kprobes per bucket, hash buckets and entries read per ops. */
export const HOOK_LIMITS = { ops: 1024, kprobes: 4096, hashBits: 16, hashEntries: 4096 };

const hex = (value: bigint): string => `0x${value.toString(16)}`;

function target(kernel: LinuxKernel, address: bigint): { address: bigint; symbol?: string } {
  const symbol = symbolName(kernel, address);
  return symbol ? { address, symbol } : { address };
}

/** The addresses in an ftrace_hash (buckets of hlists of ftrace_func_entry). */
function hashEntries(
  kernel: LinuxKernel,
  hash: bigint,
  problems: WalkProblem[],
): bigint[] | undefined {
  const r = kernel.reader;
  const bits = r.fieldNumber(hash, 'ftrace_hash', 'size_bits');
  if (bits > HOOK_LIMITS.hashBits) {
    problems.push({ address: hash, message: `ftrace_hash ${hex(hash)} has size_bits ${bits}` });
    return undefined;
  }
  const buckets = r.u64(hash + r.offset('ftrace_hash', 'buckets'));
  if (buckets === 0n) return [];
  const ip = r.offset('ftrace_func_entry', 'ip');
  const link = r.offset('ftrace_func_entry', 'hlist');
  const found: bigint[] = [];
  for (let bucket = 0; bucket < 1 << bits; bucket++) {
    const walk = walkHlist(r, buckets + BigInt(bucket * 8), HOOK_LIMITS.hashEntries);
    if (walk.problem) problems.push(walk.problem);
    for (const node of walk.nodes) {
      if (found.length >= HOOK_LIMITS.hashEntries) return found;
      found.push(r.u64(node - link + ip));
    }
  }
  return found;
}

function handler(
  kernel: LinuxKernel,
  role: string,
  address: bigint,
  modules: () => ModuleInfo[],
): HookHandler {
  return { role, address, location: locateCode(kernel, address, modules) };
}

/** The ftrace_ops on ftrace_ops_list (up to ftrace_list_end, the list's sentinel). */
export function ftraceHooks(
  kernel: LinuxKernel,
  modules: () => ModuleInfo[],
  problems: WalkProblem[],
): FunctionHook[] {
  const r = kernel.reader;
  const head = kernel.symbols.address('ftrace_ops_list');
  const end = kernel.symbols.address('ftrace_list_end');
  if (head === undefined || end === undefined) return [];
  const hooks: FunctionHook[] = [];
  const seen = new Set<bigint>();
  let ops: bigint;
  try {
    ops = r.u64(head);
  } catch (error) {
    if (!isRingsideError(error)) throw error;
    problems.push({ address: head, message: `ftrace_ops_list unreadable: ${error.message}` });
    return [];
  }
  while (ops !== end && ops !== 0n) {
    if (seen.has(ops) || seen.size >= HOOK_LIMITS.ops) {
      problems.push({
        address: ops,
        message: seen.has(ops)
          ? `ftrace_ops_list loops back to ${hex(ops)}`
          : `ftrace_ops_list has more than ${HOOK_LIMITS.ops} entries; stopped`,
      });
      break;
    }
    seen.add(ops);
    try {
      const copy = r.struct(ops, 'ftrace_ops', ['func', 'next', 'saved_func', 'func_hash']);
      const handlers: HookHandler[] = [];
      const func = copy.u64('func');
      if (func !== 0n) handlers.push(handler(kernel, 'func', func, modules));
      const saved = copy.u64('saved_func');
      if (saved !== 0n && saved !== func)
        handlers.push(handler(kernel, 'saved_func', saved, modules));
      const hook: FunctionHook = { kind: 'ftrace', object: ops, targets: [], handlers };
      const funcHash = copy.u64('func_hash');
      if (funcHash !== 0n) {
        const filter = r.u64(funcHash + r.offset('ftrace_ops_hash', 'filter_hash'));
        const ips = filter === 0n ? [] : (hashEntries(kernel, filter, problems) ?? []);
        hook.targets = ips.map((ip) => target(kernel, ip));
        if (filter === 0n || ips.length === 0) hook.allFunctions = true;
      }
      hooks.push(hook);
      ops = copy.u64('next');
    } catch (error) {
      if (!isRingsideError(error)) throw error;
      problems.push({
        address: ops,
        message: `ftrace_ops ${hex(ops)} unreadable: ${error.message}`,
      });
      break;
    }
  }
  return hooks;
}

/** The kprobes of kprobe_table (aggregate probes' children and kretprobes' handlers included). */
export function kprobeHooks(
  kernel: LinuxKernel,
  modules: () => ModuleInfo[],
  problems: WalkProblem[],
): FunctionHook[] {
  const r = kernel.reader;
  const table = kernel.symbols.address('kprobe_table');
  if (table === undefined) return [];
  // KPROBE_TABLE_SIZE (a power of two) from the kernel's own symbols: the table runs to the next
  // symbol, padding aside.
  const next = nextSymbolAddress(kernel.symbols, table);
  const slots = next !== undefined && next - table <= 4096n * 8n ? Number((next - table) / 8n) : 64;
  const buckets = slots >= 1 ? 2 ** Math.floor(Math.log2(slots)) : 0;
  const hlist = r.offset('kprobe', 'hlist');
  const list = r.offset('kprobe', 'list');
  const aggregate = kernel.symbols.address('aggr_pre_handler');
  const kretprobe = kernel.symbols.address('pre_handler_kretprobe');
  const hooks: FunctionHook[] = [];
  const readProbe = (probe: bigint, child = false): FunctionHook[] => {
    const copy = r.struct(probe, 'kprobe', ['addr', 'pre_handler', 'post_handler']);
    const address = copy.u64('addr');
    const pre = copy.u64('pre_handler');
    const post = copy.u64('post_handler');
    if (aggregate !== undefined && pre === aggregate && !child) {
      // An aggregate probe stands for the probes on its list, which hold the real handlers (one
      // level: a child is never an aggregate, and hostile memory must not make the walk recurse).
      const walk = walkList(r, probe + list, HOOK_LIMITS.kprobes);
      if (walk.problem) problems.push(walk.problem);
      return walk.nodes.flatMap((node) => {
        const member = node - list;
        return member === probe ? [] : readProbe(member, true);
      });
    }
    const handlers: HookHandler[] = [];
    let kind: FunctionHookKind = 'kprobe';
    let object = probe;
    if (kretprobe !== undefined && pre === kretprobe) {
      kind = 'kretprobe';
      object = probe - r.offset('kretprobe', 'kp');
      const rp = r.struct(object, 'kretprobe', ['handler', 'entry_handler']);
      for (const role of ['entry_handler', 'handler']) {
        const value = rp.u64(role);
        if (value !== 0n) handlers.push(handler(kernel, role, value, modules));
      }
    } else if (pre !== 0n) handlers.push(handler(kernel, 'pre_handler', pre, modules));
    if (post !== 0n) handlers.push(handler(kernel, 'post_handler', post, modules));
    return [{ kind, object, targets: [target(kernel, address)], handlers }];
  };
  for (let bucket = 0; bucket < buckets; bucket++) {
    const walk = walkHlist(r, table + BigInt(bucket * 8), HOOK_LIMITS.kprobes);
    if (walk.problem) problems.push(walk.problem);
    for (const node of walk.nodes) {
      try {
        hooks.push(...readProbe(node - hlist));
      } catch (error) {
        if (!isRingsideError(error)) throw error;
        problems.push({
          address: node,
          message: `kprobe ${hex(node)} unreadable: ${error.message}`,
        });
      }
    }
  }
  return hooks;
}

/** Every registered ftrace_ops and kprobe, with where their handlers live. */
export function listFunctionHooks(kernel: LinuxKernel, modules: () => ModuleInfo[]): FunctionHooks {
  const problems: WalkProblem[] = [];
  const hooks = [
    ...ftraceHooks(kernel, modules, problems),
    ...kprobeHooks(kernel, modules, problems),
  ];
  return { hooks, problems };
}

/** The handlers of a hook that lie outside the kernel's text. */
export const foreignHandlers = (hook: FunctionHook): HookHandler[] =>
  hook.handlers.filter((entry) => entry.location.where !== 'kernel-text');
