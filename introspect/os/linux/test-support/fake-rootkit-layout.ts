// The layouts of the kernel objects rootkits hide in or hook (the module tree and kobjects, vmalloc
// areas, ftrace_ops, kprobes, eBPF programs and links) and the enums naming their kinds, for the
// fake kernel of the unit tests (fake-linux.ts types them; fake-rootkit.ts writes them).
import type { FakeLayout } from './fake-types.js';

export const rootkitLayout: FakeLayout = {
  mod_tree_root: { size: 0x40, fields: { root: { offset: 0, size: 24 } } },
  latch_tree_root: {
    size: 24,
    fields: { seq: { offset: 0, size: 4 }, tree: { offset: 8, size: 8, count: 2 } },
  },
  mod_tree_node: { size: 56, fields: { mod: { offset: 0 }, node: { offset: 8, size: 48 } } },
  module_kobject: {
    size: 0x60,
    fields: { kobj: { offset: 0, size: 0x40 }, mod: { offset: 0x40 } },
  },
  kset: {
    size: 0x60,
    fields: { list: { offset: 0, size: 16 }, kobj: { offset: 0x18, size: 0x40 } },
  },
  kobject: {
    size: 0x40,
    fields: { name: { offset: 0 }, entry: { offset: 8, size: 16 }, parent: { offset: 0x18 } },
  },
  ftrace_ops: {
    size: 0xa0,
    fields: {
      func: { offset: 0 },
      next: { offset: 8 },
      flags: { offset: 0x10, size: 4 },
      saved_func: { offset: 0x20 },
      trampoline: { offset: 0x40 },
      trampoline_size: { offset: 0x48 },
      func_hash: { offset: 0x58 },
    },
  },
  ftrace_ops_hash: {
    size: 0x30,
    fields: { notrace_hash: { offset: 0 }, filter_hash: { offset: 8 } },
  },
  ftrace_hash: {
    size: 0x28,
    fields: { size_bits: { offset: 0 }, buckets: { offset: 8 }, count: { offset: 16 } },
  },
  ftrace_func_entry: { size: 0x20, fields: { hlist: { offset: 0, size: 16 }, ip: { offset: 16 } } },
  kprobe: {
    size: 0x80,
    fields: {
      hlist: { offset: 0, size: 16 },
      list: { offset: 16, size: 16 },
      addr: { offset: 40 },
      pre_handler: { offset: 64 },
      post_handler: { offset: 72 },
    },
  },
  kretprobe: {
    size: 0xa0,
    fields: {
      kp: { offset: 0, size: 0x80 },
      handler: { offset: 0x80 },
      entry_handler: { offset: 0x88 },
    },
  },
  bpf_prog: {
    size: 0x48,
    fields: {
      jited: { offset: 2, size: 1, bitfield: { bit: 0, bits: 1 } },
      type: { offset: 4, size: 4 },
      len: { offset: 12, size: 4 },
      tag: { offset: 20, size: 1, count: 8 },
      bpf_func: { offset: 48 },
      aux: { offset: 56 },
      insnsi: { offset: 72, size: 8, count: 0 },
    },
  },
  bpf_prog_aux: {
    size: 0x400,
    fields: {
      id: { offset: 32, size: 4 },
      attach_func_name: { offset: 192 },
      user: { offset: 912 },
      load_time: { offset: 920 },
      name: { offset: 952, size: 1, count: 16 },
    },
  },
  bpf_link: {
    size: 0x40,
    fields: { id: { offset: 8, size: 4 }, type: { offset: 12, size: 4 }, prog: { offset: 24 } },
  },
  bpf_raw_tp_link: { size: 0x50, fields: { btp: { offset: 64 } } },
  bpf_raw_event_map: { size: 0x20, fields: { tp: { offset: 0 } } },
  tracepoint: { size: 0x40, fields: { name: { offset: 0 } } },
  vmap_area: {
    size: 0x40,
    fields: {
      va_start: { offset: 0 },
      va_end: { offset: 8 },
      list: { offset: 40, size: 16 },
      vm: { offset: 56 },
    },
  },
  files_struct: { size: 0x40, fields: { fdt: { offset: 0x20 } } },
  fdtable: { size: 0x20, fields: { max_fds: { offset: 0, size: 4 }, fd: { offset: 8 } } },
  mod_kallsyms: {
    size: 0x20,
    fields: { symtab: { offset: 0 }, num_symtab: { offset: 8, size: 4 }, strtab: { offset: 16 } },
  },
  vm_struct: { size: 0x48, fields: { addr: { offset: 8 }, caller: { offset: 56 } } },
  mod_initfree: { size: 0x18, fields: { node: { offset: 0 }, module_init: { offset: 8 } } },
  // A small busy hash (the kernel's has 64 buckets): the fake per-CPU area has room for two pools.
  worker_pool: { size: 0x40, fields: { busy_hash: { offset: 0x10, size: 8, count: 4 } } },
  worker: {
    size: 0x40,
    fields: {
      hentry: { offset: 0, size: 16 },
      current_work: { offset: 0x10 },
      current_func: { offset: 0x18 },
    },
  },
};

/** The kernel's enums the walkers name values with (a subset of the real ones, real values). */
export const rootkitEnums: Record<string, Record<string, number>> = {
  bpf_prog_type: {
    BPF_PROG_TYPE_KPROBE: 2,
    BPF_PROG_TYPE_TRACEPOINT: 5,
    BPF_PROG_TYPE_CGROUP_SKB: 8,
    BPF_PROG_TYPE_RAW_TRACEPOINT: 17,
    BPF_PROG_TYPE_TRACING: 26,
    BPF_PROG_TYPE_LSM: 29,
  },
  bpf_link_type: { BPF_LINK_TYPE_RAW_TRACEPOINT: 1, BPF_LINK_TYPE_TRACING: 2 },
};
