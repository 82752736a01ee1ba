// Builders for the fake kernel of the unit tests: the module tree (mod_tree) and kobjects
// (module_kset), vmalloc areas (vmap_area_list), ftrace_ops_list, kprobe_table, and eBPF programs in
// prog_idr with their links in link_idr, module init sections pending free (init_free_list, a worker
// running do_free_init) and modules moved into their own memory, written per `rootkitLayout` (fake-rootkit-layout.ts) into a
// FakeLinux, so the walkers read them as they read a guest's.
import type { FakeLinux } from './fake-linux.js';

export { rootkitEnums, rootkitLayout } from './fake-rootkit-layout.js';

/** Where fakeLayout puts a module's core mod_tree_node and its module_kobject. */
export const MODULE_MTN = 0x140n;
export const MODULE_MKOBJ = 0x180n;

const XA_NODE_SLOTS = 40n;

/** mod_tree holding `modules` (their core mod_tree_nodes, in a valid binary tree). */
export function writeModTree(linux: FakeLinux, modules: bigint[]): bigint {
  const tree = linux.alloc(0x40);
  linux.symbols.set('mod_tree', tree);
  const nodes = modules.map((module) => {
    const mtn = module + MODULE_MTN;
    linux.set64(mtn, module);
    return mtn + 8n;
  });
  linux.rbTree(tree + 8n, nodes);
  return tree;
}

/** module_kset with one kobject per module, and one built-in module's (mod NULL). */
export function writeModuleKset(linux: FakeLinux, modules: bigint[]): bigint {
  const kset = linux.alloc(0x60);
  const pointer = linux.alloc(8);
  linux.set64(pointer, kset);
  linux.symbols.set('module_kset', pointer);
  linux.listInit(kset);
  const builtin = linux.alloc(0x60);
  linux.listAddTail(kset, builtin + 8n);
  for (const module of modules) {
    const kobj = module + MODULE_MKOBJ;
    linux.set64(kobj + 0x40n, module);
    linux.listAddTail(kset, kobj + 8n);
  }
  return kset;
}

export interface FakeFtraceOps {
  func: bigint;
  /** Filtered functions; none = every function. */
  targets?: bigint[];
}

/** ftrace_ops_list: the given ops in order, then ftrace_list_end. Returns each ops' address. */
export function writeFtraceOps(linux: FakeLinux, list: FakeFtraceOps[]): bigint[] {
  const end = linux.alloc(0xa0);
  const head = linux.alloc(8);
  linux.symbols.set('ftrace_list_end', end);
  linux.symbols.set('ftrace_ops_list', head);
  const addresses = list.map(({ func, targets }) => {
    const ops = linux.alloc(0xa0);
    linux.set64(ops, func);
    const hashes = linux.alloc(0x30);
    linux.set64(ops + 0x58n, hashes);
    if (targets?.length) {
      const hash = linux.alloc(0x28);
      linux.set64(hashes + 8n, hash);
      linux.set64(hash, 1n); // size_bits: two buckets
      const buckets = linux.alloc(16);
      linux.set64(hash + 8n, buckets);
      targets.forEach((ip, index) => {
        const entry = linux.alloc(0x20);
        linux.set64(entry + 16n, ip);
        linux.hlistAddHead(buckets + BigInt((index % 2) * 8), entry);
      });
    }
    return ops;
  });
  const chain = [...addresses, end];
  linux.set64(head, chain[0]!);
  for (let index = 0; index + 1 < chain.length; index++)
    linux.set64(chain[index]! + 8n, chain[index + 1]!);
  return addresses;
}

export interface FakeKprobe {
  addr: bigint;
  pre?: bigint;
  post?: bigint;
  /** Makes it a kretprobe with these handlers (its pre_handler is pre_handler_kretprobe). */
  ret?: { handler?: bigint; entry?: bigint };
}

/** kprobe_table (64 buckets, bounded by the next symbol) holding the given probes. */
export function writeKprobes(linux: FakeLinux, probes: FakeKprobe[]): bigint[] {
  const table = linux.alloc(64 * 8);
  linux.symbols.set('kprobe_table', table);
  linux.symbols.set('kprobes_all_disarmed', table + 64n * 8n);
  return probes.map((probe, index) => {
    const object = linux.alloc(0xa0);
    const kp = object; // kretprobe.kp is at 0
    linux.set64(kp + 40n, probe.addr);
    if (probe.ret) {
      linux.set64(kp + 64n, linux.symbols.get('pre_handler_kretprobe')!);
      linux.set64(object + 0x80n, probe.ret.handler ?? 0n);
      linux.set64(object + 0x88n, probe.ret.entry ?? 0n);
    } else linux.set64(kp + 64n, probe.pre ?? 0n);
    linux.set64(kp + 72n, probe.post ?? 0n);
    linux.hlistAddHead(table + BigInt((index % 64) * 8), kp);
    return object;
  });
}

export interface FakeBpfProgram {
  id: number;
  type: number;
  name: string;
  tag?: string;
  /** Helpers its instructions call (their addresses), in order. */
  calls?: bigint[];
  uid?: number;
  attachTo?: string;
  /** A raw tracepoint link naming this tracepoint. */
  rawTracepoint?: string;
}

const BPF_CALL = 0x85;

function bpfInstructions(calls: bigint[], base: bigint): Uint8Array {
  // mov r0, 0; call helper …; exit
  const count = calls.length + 2;
  const bytes = new Uint8Array(count * 8);
  const view = new DataView(bytes.buffer);
  bytes[0] = 0xb7;
  calls.forEach((helper, index) => {
    bytes[(index + 1) * 8] = BPF_CALL;
    view.setInt32((index + 1) * 8 + 4, Number(helper - base), true);
  });
  bytes[(count - 1) * 8] = 0x95;
  return bytes;
}

/** An xarray (idr_rt of an idr) holding `entries` by index (< 64): one leaf node. */
function writeIdr(linux: FakeLinux, symbol: string, entries: Map<number, bigint>): void {
  const idr = linux.alloc(24);
  linux.symbols.set(symbol, idr);
  if (entries.size === 0) return;
  const node = linux.alloc(576);
  for (const [index, entry] of entries)
    linux.set64(node + XA_NODE_SLOTS + BigInt(index * 8), entry);
  linux.set64(idr + 8n, node + 2n);
}

/**
 * prog_idr and link_idr holding the programs (the helpers and __bpf_call_base must be symbols of
 * the fake kernel already). Returns each bpf_prog's address.
 */
export function writeBpfPrograms(linux: FakeLinux, programs: FakeBpfProgram[]): bigint[] {
  for (const fops of ['bpf_prog_fops', 'bpf_link_fops'])
    if (!linux.symbols.has(fops)) linux.symbols.set(fops, linux.alloc(0x100));
  const base = linux.symbols.get('__bpf_call_base') ?? 0n;
  const byId = new Map<number, bigint>();
  const links = new Map<number, bigint>();
  const addresses = programs.map((program) => {
    const insns = bpfInstructions(program.calls ?? [], base);
    const prog = linux.alloc(0x48 + insns.length);
    const aux = linux.alloc(0x400);
    linux.bytes[Number(prog) + 2] = 1; // jited
    linux.set32(prog + 4n, program.type);
    linux.set32(prog + 12n, insns.length / 8);
    linux.bytes.set(Buffer.from(program.tag ?? '0123456789abcdef', 'hex'), Number(prog) + 20);
    linux.set64(prog + 56n, aux);
    linux.bytes.set(insns, Number(prog) + 72);
    linux.set32(aux + 32n, program.id);
    new TextEncoder().encodeInto(
      program.name.slice(0, 15),
      linux.bytes.subarray(Number(aux) + 952),
    );
    if (program.uid !== undefined) {
      const user = linux.alloc(0x20);
      linux.set32(user + 8n, program.uid);
      linux.set64(aux + 912n, user);
    }
    if (program.attachTo) linux.set64(aux + 192n, linux.string(program.attachTo));
    if (program.rawTracepoint) {
      const link = linux.alloc(0x50);
      linux.set32(link + 12n, 1);
      linux.set64(link + 24n, prog);
      const btp = linux.alloc(0x20);
      const tp = linux.alloc(0x40);
      linux.set64(tp, linux.string(program.rawTracepoint));
      linux.set64(btp, tp);
      linux.set64(link + 64n, btp);
      links.set(links.size + 1, link);
    }
    byId.set(program.id, prog);
    return prog;
  });
  writeIdr(linux, 'prog_idr', byId);
  writeIdr(linux, 'link_idr', links);
  return addresses;
}

/** vmap_area_list holding busy areas, each with a vm_struct naming its allocating caller. */
export function writeVmapAreas(
  linux: FakeLinux,
  areas: { start: bigint; end: bigint; caller: bigint }[],
): void {
  const head = linux.alloc(16);
  linux.symbols.set('vmap_area_list', head);
  linux.listInit(head);
  for (const { start, end, caller } of areas) {
    const area = linux.alloc(0x40);
    const vm = linux.alloc(0x48);
    linux.set64(area, start);
    linux.set64(area + 8n, end);
    linux.set64(area + 56n, vm);
    linux.set64(vm + 8n, start);
    linux.set64(vm + 56n, caller);
    linux.listAddTail(head, area + 40n);
  }
}

/** module->kallsyms: functions at `offset` bytes into the module's core (Elf64_Sym, STT_FUNC). */
export function writeModuleSymbols(
  linux: FakeLinux,
  module: bigint,
  symbols: { name: string; offset: number; size: number }[],
): void {
  const base = linux.get64(module + 0x100n);
  const table = linux.alloc(0x20);
  const symtab = linux.alloc(24 * (symbols.length + 1));
  const names = symbols.map((symbol) => symbol.name).join('\0') + '\0';
  const strtab = linux.string(`\0${names}`);
  let name = 1;
  symbols.forEach((symbol, index) => {
    const at = symtab + BigInt(24 * (index + 1)); // entry 0 is the null symbol
    linux.set32(at, name);
    linux.bytes[Number(at) + 4] = 0x12; // STB_GLOBAL, STT_FUNC
    linux.set64(at + 8n, base + BigInt(symbol.offset));
    linux.set64(at + 16n, BigInt(symbol.size));
    name += symbol.name.length + 1;
  });
  linux.set64(table, symtab);
  linux.set32(table + 8n, symbols.length + 1);
  linux.set64(table + 16n, strtab);
  linux.set64(module + 0x1f0n, table);
}

/**
 * A descriptor table for `task` holding, in order, a struct file for each entry: a bpf program
 * (`{ prog }`), a link to one (`{ link }`, a fresh bpf_link pointing at the program) or nothing.
 */
export function writeDescriptors(
  linux: FakeLinux,
  task: bigint,
  entries: ({ prog: bigint } | { link: bigint } | null)[],
): void {
  const files = linux.alloc(0x40);
  const fdt = linux.alloc(0x20);
  const array = linux.alloc(8 * Math.max(entries.length, 1));
  linux.set64(task + 0x340n, files);
  linux.set64(files + 0x20n, fdt);
  linux.set32(fdt, entries.length);
  linux.set64(fdt + 8n, array);
  entries.forEach((entry, fd) => {
    if (!entry) return;
    const file = linux.alloc(0x40);
    if ('prog' in entry) {
      linux.set64(file + 0x28n, linux.symbols.get('bpf_prog_fops')!);
      linux.set64(file + 0x30n, entry.prog);
    } else {
      const link = linux.alloc(0x40);
      linux.set64(link + 24n, entry.link);
      linux.set64(file + 0x28n, linux.symbols.get('bpf_link_fops')!);
      linux.set64(file + 0x30n, link);
    }
    linux.set64(array + BigInt(fd * 8), file);
  });
}

/** The fake per-CPU area's free room after its run queue: cpu_worker_pools' two pools go there. */
const WORKER_POOLS = 0xd00n;

/**
 * A module (off the list) whose struct module lies inside its own memory, as the kernel's does: its
 * core region is the 0x2000 bytes starting 0x1000 before it, which no other allocation shares.
 */
export function moduleInOwnMemory(
  linux: FakeLinux,
  name: string,
): { module: bigint; region: { start: bigint; end: bigint } } {
  const start = linux.alloc(0x1000);
  const module = linux.module(name, new Uint8Array(16), { link: false });
  linux.alloc(0x1000);
  const region = { start, end: start + 0x2000n };
  if (module !== start + 0x1000n)
    throw new Error('the fake allocator did not place it as expected');
  linux.set64(module + 0x100n, start);
  linux.set32(module + 0x108n, 0x2000);
  return { module, region };
}

/** init_free_list holding one mod_initfree per init region (do_init_module's queue). */
export function writeInitFreeList(linux: FakeLinux, regions: bigint[]): void {
  const head = linux.alloc(8);
  linux.symbols.set('init_free_list', head);
  let previous = head;
  for (const region of regions) {
    const entry = linux.alloc(0x18);
    linux.set64(entry + 8n, region);
    linux.set64(previous, entry);
    previous = entry;
  }
}

/** A busy worker on `cpu`'s normal pool running `func` (cpu_worker_pools, an idle pool beside it). */
export function writeBusyWorker(linux: FakeLinux, cpu: number, func: bigint): bigint {
  linux.symbols.set('cpu_worker_pools', WORKER_POOLS);
  const worker = linux.alloc(0x40);
  linux.set64(worker + 0x18n, func);
  linux.hlistAddHead(linux.perCpu[cpu]! + WORKER_POOLS + 0x10n + 8n, worker);
  return worker;
}
