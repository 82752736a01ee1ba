// Types of kernel variables that Volatility 3's Linux plugins read through `object_from_symbol`,
// as dwarf2json records them from DWARF. BTF records only per-CPU variables (and, with newer
// pahole, globals); without a type, Volatility cannot read `init_task` and the rest. The writer
// uses an entry only when every type it names is in the ISF being written.
import type { IsfTypeDescriptor } from './isf-format.js';

const struct = (name: string): IsfTypeDescriptor => ({ kind: 'struct', name });
const base = (name: string): IsfTypeDescriptor => ({ kind: 'base', name });
const pointer = (subtype: IsfTypeDescriptor): IsfTypeDescriptor => ({ kind: 'pointer', subtype });
const array = (subtype: IsfTypeDescriptor, count = 0): IsfTypeDescriptor => ({
  kind: 'array',
  count,
  subtype,
});
const text = array(base('char'));
const syscallTable = array(pointer({ kind: 'function' }));

export const WELL_KNOWN_SYMBOL_TYPES: Readonly<Record<string, IsfTypeDescriptor>> = {
  init_task: struct('task_struct'),
  init_files: struct('files_struct'),
  init_fs: struct('fs_struct'),
  init_mm: struct('mm_struct'),
  init_cred: struct('cred'),
  init_pid_ns: struct('pid_namespace'),
  init_struct_pid: struct('pid'),
  init_net: struct('net'),
  init_nsproxy: struct('nsproxy'),
  init_uts_ns: struct('uts_namespace'),
  modules: struct('list_head'),
  module_kset: pointer(struct('kset')),
  net_namespace_list: struct('list_head'),
  tty_drivers: struct('list_head'),
  super_blocks: struct('list_head'),
  file_systems: pointer(struct('file_system_type')),
  mount_hashtable: pointer(struct('hlist_head')),
  prog_idr: struct('idr'),
  prb: pointer(struct('printk_ringbuffer')),
  log_buf: pointer(base('char')),
  log_buf_len: base('unsigned int'),
  cap_last_cap: base('int'),
  nr_threads: base('int'),
  sockfs_dentry_operations: struct('dentry_operations'),
  socket_file_ops: struct('file_operations'),
  keyboard_notifier_list: struct('atomic_notifier_head'),
  iomem_resource: struct('resource'),
  tcp_hashinfo: struct('inet_hashinfo'),
  udp_table: struct('udp_table'),
  boot_cpu_data: struct('cpuinfo_x86'),
  console_drivers: pointer(struct('console')),
  files_cachep: pointer(struct('kmem_cache')),
  mem_section: pointer(pointer(struct('mem_section'))),
  node_data: array(pointer(struct('pg_data_t'))),
  idt_table: array(struct('gate_desc'), 256),
  init_top_pgt: array(struct('pgd_t')),
  swapper_pg_dir: array(struct('pgd_t')),
  sys_call_table: syscallTable,
  ia32_sys_call_table: syscallTable,
  x32_sys_call_table: syscallTable,
  jiffies: base('long unsigned int'),
  jiffies_64: base('long long unsigned int'),
  max_pfn: base('long unsigned int'),
  page_offset_base: base('long unsigned int'),
  vmalloc_base: base('long unsigned int'),
  vmemmap_base: base('long unsigned int'),
  phys_base: base('long unsigned int'),
  high_memory: pointer(base('void')),
  kallsyms_num_syms: base('unsigned int'),
  kallsyms_names: array(base('unsigned char')),
  _text: text,
  _stext: text,
  _etext: text,
  _sinittext: text,
  _end: text,
  linux_banner: text,
};
