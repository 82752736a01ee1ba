// A tiny synthetic Linux kernel in a byte buffer for tests of the task views and the detectors:
// init_task and its task list, processes with threads, struct pids in init_pid_ns's ID tree (a real
// XArray of xa_nodes), per-CPU run queues with CFS, RT and deadline entries, and what detectors read
// (credentials, the running task per CPU, modules, linux_binprm, sockaddr_in, a user address space,
// kernel text, the syscall table and the IDT). Tests then corrupt it on purpose.
import { X86_64, type Architecture } from '../../../arch/index.js';
import { x86Translator } from '../../../memory/paged-address-space.js';
import { identitySpace } from '../../../memory/test-support/identity-space.js';
import { PageTableBuilder } from '../../../memory/test-support/page-table-builder.js';
import { X86_64_4LEVEL } from '../../../memory/x86/paging.js';
import { KernelReader } from '../kernel-reader.js';
import type { LinuxKernel } from '../linux-kernel.js';
import { SortedSymbolTable } from '../profile/symbol-table.js';
import { rootkitEnums, rootkitLayout } from './fake-rootkit-layout.js';
import { fakeTypes, type FakeLayout } from './fake-types.js';

const TASK_COMM_LEN = 16;
export const XA_CHUNK_SLOTS = 64;
export const RT_PRIORITIES = 100;
/** The per-CPU offset of `runqueues` (the symbol's value). */
const RUNQUEUES = 0x100n;
/** The per-CPU offset of `current_task` (the symbol's value). */
const CURRENT_TASK = 0x20n;
const PAGE = 0x1000;
export const PF_KTHREAD = 0x0020_0000;

export const fakeLayout: FakeLayout = {
  task_struct: {
    size: 0x400,
    fields: {
      __state: { offset: 0x0, size: 4 },
      flags: { offset: 0x4, size: 4 },
      pid: { offset: 0x8, size: 4 },
      tgid: { offset: 0xc, size: 4 },
      exit_state: { offset: 0x10, size: 4 },
      comm: { offset: 0x20, size: 1, count: TASK_COMM_LEN },
      tasks: { offset: 0x40, size: 16 },
      thread_node: { offset: 0x50, size: 16 },
      pid_links: { offset: 0x60, size: 16, count: 4 },
      signal: { offset: 0xa0 },
      se: { offset: 0x100, size: 0x80 },
      rt: { offset: 0x200, size: 0x40 },
      dl: { offset: 0x280, size: 0x40 },
      real_parent: { offset: 0x300 },
      real_cred: { offset: 0x308 },
      mm: { offset: 0x310 },
      start_time: { offset: 0x318 },
      in_execve: { offset: 0x320, size: 4, bitfield: { bit: 1, bits: 1 } },
      nsproxy: { offset: 0x328 },
      cred: { offset: 0x330 },
      thread_pid: { offset: 0x338 },
      files: { offset: 0x340 },
    },
  },
  nsproxy: { size: 0x40, fields: { mnt_ns: { offset: 0x18 } } },
  cred: {
    size: 0x40,
    fields: {
      uid: { offset: 0x4, size: 4 },
      'uid.val': { offset: 0x4, size: 4 },
      gid: { offset: 0x8, size: 4 },
      'gid.val': { offset: 0x8, size: 4 },
      suid: { offset: 0xc, size: 4 },
      sgid: { offset: 0x10, size: 4 },
      euid: { offset: 0x14, size: 4 },
      'euid.val': { offset: 0x14, size: 4 },
      egid: { offset: 0x18, size: 4 },
      'egid.val': { offset: 0x18, size: 4 },
      user: { offset: 0x28 },
    },
  },
  user_struct: { size: 0x20, fields: { uid: { offset: 0x8, size: 4 } } },
  mm_struct: {
    size: 0x40,
    fields: {
      pgd: { offset: 0x10 },
      exe_file: { offset: 0x18 },
      arg_start: { offset: 0x20 },
      arg_end: { offset: 0x28 },
      mm_mt: { offset: 0x30, size: 16 },
    },
  },
  // The maple tree of an mm's mappings (lib/maple_tree.c), with 6.1's slot counts.
  maple_tree: { size: 16, fields: { ma_root: { offset: 8 } } },
  maple_node: { size: 256, fields: {} },
  maple_range_64: {
    size: 256,
    fields: { pivot: { offset: 8, count: 15 }, slot: { offset: 128, count: 16 } },
  },
  maple_arange_64: {
    size: 256,
    fields: { pivot: { offset: 8, count: 9 }, slot: { offset: 80, count: 10 } },
  },
  vm_area_struct: {
    size: 0x60,
    fields: {
      vm_start: { offset: 0 },
      vm_end: { offset: 8 },
      vm_mm: { offset: 0x10 },
      vm_flags: { offset: 0x18 },
      vm_file: { offset: 0x20 },
      vm_ops: { offset: 0x28 },
    },
  },
  file: {
    size: 0x40,
    fields: {
      f_path: { offset: 0x10, size: 16 },
      f_op: { offset: 0x28 },
      private_data: { offset: 0x30 },
    },
  },
  path: { size: 16, fields: { mnt: { offset: 0 }, dentry: { offset: 8 } } },
  dentry: {
    size: 0x40,
    fields: {
      'd_hash.pprev': { offset: 0x8 },
      d_parent: { offset: 0x18 },
      'd_name.name': { offset: 0x28 },
    },
  },
  vfsmount: { size: 0x20, fields: { mnt_root: { offset: 0 } } },
  mount: {
    size: 0x60,
    fields: {
      mnt_parent: { offset: 0x10 },
      mnt_mountpoint: { offset: 0x18 },
      mnt: { offset: 0x20, size: 0x20 },
    },
  },
  module: {
    size: 0x200,
    fields: {
      state: { offset: 0x0, size: 4 },
      list: { offset: 0x8, size: 16 },
      name: { offset: 0x18, size: 1, count: 56 },
      'core_layout.base': { offset: 0x100 },
      'core_layout.size': { offset: 0x108, size: 4 },
      'core_layout.text_size': { offset: 0x10c, size: 4 },
      taints: { offset: 0x110 },
      'core_layout.mtn': { offset: 0x140, size: 56 },
      'mkobj.kobj': { offset: 0x180, size: 0x40 },
      kallsyms: { offset: 0x1f0 },
    },
  },
  linux_binprm: {
    size: 0x100,
    fields: { p: { offset: 0x0 }, argc: { offset: 0x10, size: 4 }, filename: { offset: 0x20 } },
  },
  signal_struct: { size: 0x40, fields: { thread_head: { offset: 0x10, size: 16 } } },
  pid: {
    size: 0x60,
    fields: {
      level: { offset: 0x4, size: 4 },
      tasks: { offset: 0x10, size: 8, count: 4 },
      numbers: { offset: 0x50, size: 16, count: 1 },
    },
  },
  upid: { size: 16, fields: { nr: { offset: 0, size: 4 }, ns: { offset: 8 } } },
  pid_namespace: {
    size: 0x80,
    fields: { idr: { offset: 0, size: 24 }, level: { offset: 0x40, size: 4 } },
  },
  idr: { size: 24, fields: { idr_rt: { offset: 0, size: 16 }, idr_base: { offset: 16, size: 4 } } },
  xarray: { size: 16, fields: { xa_head: { offset: 8 } } },
  xa_node: {
    size: 576,
    fields: {
      shift: { offset: 0, size: 1 },
      slots: { offset: 40, size: 8, count: XA_CHUNK_SLOTS },
    },
  },
  rq: {
    size: 0xc00,
    fields: {
      cfs: { offset: 0x100, size: 0x80 },
      rt: { offset: 0x200, size: 0x700 },
      dl: { offset: 0x900, size: 0x60 },
      curr: { offset: 0xa00 },
      idle: { offset: 0xa08 },
    },
  },
  cfs_rq: { size: 0x80, fields: { tasks_timeline: { offset: 0x30, size: 16 } } },
  rt_rq: { size: 0x700, fields: { active: { offset: 0, size: 0x650 } } },
  rt_prio_array: {
    size: 0x650,
    fields: { queue: { offset: 0x10, size: 16, count: RT_PRIORITIES } },
  },
  dl_rq: { size: 0x60, fields: { root: { offset: 0, size: 16 } } },
  rb_root_cached: { size: 16, fields: { rb_root: { offset: 0, size: 8 } } },
  rb_node: { size: 24, fields: { rb_right: { offset: 8 }, rb_left: { offset: 16 } } },
  sched_entity: {
    size: 0x80,
    fields: { run_node: { offset: 0x10, size: 24 }, my_q: { offset: 0x40 } },
  },
  sched_rt_entity: { size: 0x40, fields: { run_list: { offset: 0, size: 16 } } },
  sched_dl_entity: { size: 0x40, fields: { rb_node: { offset: 0, size: 24 } } },
  ...rootkitLayout,
};

const at = (struct: string, field: string): bigint =>
  BigInt(fakeLayout[struct]!.fields[field]!.offset);

export interface FakeTask {
  task: bigint;
  pid: bigint;
  number: number;
}

export interface FakeCredentials {
  uid: number;
  gid: number;
  euid: number;
  egid: number;
}

/** A 16-byte x86-64 interrupt gate pointing at `handler`. */
export function idtGate(handler: bigint, present = true): Uint8Array {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, Number(handler & 0xffffn), true);
  view.setUint16(2, 0x10, true);
  view.setUint8(5, (present ? 0x80 : 0) | 0x0e);
  view.setUint16(6, Number((handler >> 16n) & 0xffffn), true);
  view.setUint32(8, Number(handler >> 32n), true);
  return bytes;
}

export class FakeLinux {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private next = 0x1000;
  readonly symbols = new Map<string, bigint>();
  /** ID → struct pid, written into the ID tree by `kernel()`. */
  readonly ids = new Map<number, bigint>();
  readonly initTask: bigint;
  readonly namespace: bigint;
  readonly runQueues: bigint[] = [];
  /** Each CPU's per-CPU area (its GS base in kernel mode on x86-64). */
  readonly perCpu: bigint[] = [];
  /** The head of the kernel's module list (the `modules` symbol). */
  readonly modules: bigint;
  /** How many times a kernel from `kernel()` was asked to drop its caches. */
  generations = 0;
  private rootCred: bigint | undefined;

  constructor(
    readonly cpus = 2,
    size = 4 << 20,
  ) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
    this.initTask = this.task(0, 'swapper/0');
    this.listInit(this.initTask + at('task_struct', 'tasks'));
    this.namespace = this.alloc(0x80);
    const offsets = this.alloc(8 * cpus);
    const count = this.alloc(8);
    this.set32(count, cpus);
    this.symbols.set('init_task', this.initTask);
    this.symbols.set('init_pid_ns', this.namespace);
    this.symbols.set('__per_cpu_offset', offsets);
    this.symbols.set('nr_cpu_ids', count);
    this.symbols.set('runqueues', RUNQUEUES);
    this.symbols.set('current_task', CURRENT_TASK);
    this.modules = this.alloc(16);
    this.listInit(this.modules);
    this.symbols.set('modules', this.modules);
    for (let cpu = 0; cpu < cpus; cpu++) {
      const base = this.alloc(0x1000);
      this.perCpu.push(base);
      this.set64(offsets + BigInt(cpu) * 8n, base);
      const rq = base + RUNQUEUES;
      this.runQueues.push(rq);
      const idle = cpu === 0 ? this.initTask : this.task(0, `swapper/${cpu}`);
      this.set64(rq + at('rq', 'idle'), idle);
      this.setCurrent(cpu, idle);
      for (let priority = 0; priority < RT_PRIORITIES; priority++)
        this.listInit(this.rtQueue(cpu, priority));
    }
  }

  alloc(size: number): bigint {
    const address = this.next;
    this.next += (size + 63) & ~63;
    if (this.next > this.bytes.length) throw new Error('fake kernel out of memory');
    return BigInt(address);
  }

  /** `size` bytes starting on a page boundary (page tables, text, tables with frames of their own). */
  allocPages(size: number): bigint {
    this.next = (this.next + PAGE - 1) & ~(PAGE - 1);
    return this.alloc((size + PAGE - 1) & ~(PAGE - 1));
  }

  /** Bytes copied into fresh memory; returns their address. */
  put(bytes: Uint8Array): bigint {
    const address = this.alloc(bytes.length);
    this.bytes.set(bytes, Number(address));
    return address;
  }

  /** A NUL-terminated string in fresh memory. */
  string(text: string): bigint {
    return this.put(Buffer.from(`${text}\0`, 'utf8'));
  }

  set64(address: bigint, value: bigint): void {
    this.view.setBigUint64(Number(address), value, true);
  }

  set32(address: bigint, value: number): void {
    this.view.setUint32(Number(address), value, true);
  }

  get64(address: bigint): bigint {
    return this.view.getBigUint64(Number(address), true);
  }

  listInit(head: bigint): void {
    this.set64(head, head);
    this.set64(head + 8n, head);
  }

  listAddTail(head: bigint, node: bigint): void {
    const last = this.get64(head + 8n);
    this.set64(node, head);
    this.set64(node + 8n, last);
    this.set64(last, node);
    this.set64(head + 8n, node);
  }

  /** list_del: the neighbours skip the node (what a rootkit hiding a task does). */
  listDel(node: bigint): void {
    const next = this.get64(node);
    const prev = this.get64(node + 8n);
    this.set64(prev, next);
    this.set64(next + 8n, prev);
  }

  hlistAddHead(head: bigint, node: bigint): void {
    const first = this.get64(head);
    this.set64(node, first);
    this.set64(node + 8n, head);
    if (first !== 0n) this.set64(first + 8n, node);
    this.set64(head, node);
  }

  hlistDel(node: bigint): void {
    const next = this.get64(node);
    const pprev = this.get64(node + 8n);
    this.set64(pprev, next);
    if (next !== 0n) this.set64(next + 8n, pprev);
  }

  /** A task running as root (sharing one cred, as init_cred is shared), child of init_task. */
  task(number: number, comm: string, tgid = number): bigint {
    const task = this.alloc(0x400);
    this.set32(task + at('task_struct', 'pid'), number);
    this.set32(task + at('task_struct', 'tgid'), tgid);
    this.rootCred ??= this.cred({ uid: 0, gid: 0, euid: 0, egid: 0 }, 0);
    this.set64(task + at('task_struct', 'real_cred'), this.rootCred);
    this.set64(task + at('task_struct', 'real_parent'), this.initTask ?? task);
    new TextEncoder().encodeInto(
      comm.slice(0, TASK_COMM_LEN - 1),
      this.bytes.subarray(Number(task + at('task_struct', 'comm'))),
    );
    return task;
  }

  pidLink(task: bigint, type: number): bigint {
    return task + at('task_struct', 'pid_links') + BigInt(type * 16);
  }

  pidTasks(pid: bigint, type: number): bigint {
    return pid + at('pid', 'tasks') + BigInt(type * 8);
  }

  private newPid(number: number): bigint {
    const pid = this.alloc(0x60);
    this.set32(pid + at('pid', 'numbers') + at('upid', 'nr'), number);
    this.set64(pid + at('pid', 'numbers') + at('upid', 'ns'), this.namespace);
    this.ids.set(number, pid);
    return pid;
  }

  /** A process (thread-group leader) and its threads, on the task list and in the ID tree. */
  process(number: number, comm: string, threads: number[] = [], group?: FakeTask): FakeTask[] {
    const signal = this.alloc(0x40);
    const head = signal + at('signal_struct', 'thread_head');
    this.listInit(head);
    const created: FakeTask[] = [];
    for (const tid of [number, ...threads]) {
      const task = this.task(tid, comm, number);
      const pid = this.newPid(tid);
      this.set64(task + at('task_struct', 'signal'), signal);
      this.listAddTail(head, task + at('task_struct', 'thread_node'));
      this.hlistAddHead(this.pidTasks(pid, 0), this.pidLink(task, 0));
      created.push({ task, pid, number: tid });
    }
    const leader = created[0]!;
    this.listAddTail(
      this.initTask + at('task_struct', 'tasks'),
      leader.task + at('task_struct', 'tasks'),
    );
    // TGID on its own pid; process group and session on the group leader's (or its own).
    this.hlistAddHead(this.pidTasks(leader.pid, 1), this.pidLink(leader.task, 1));
    for (const type of [2, 3])
      this.hlistAddHead(
        this.pidTasks((group ?? leader).pid, type),
        this.pidLink(leader.task, type),
      );
    return created;
  }

  /** Unlinks a task from the task list only: the DKOM this cross-view exists to catch. */
  unlinkFromTaskList(task: bigint): void {
    this.listDel(task + at('task_struct', 'tasks'));
  }

  runQueue(cpu: number): bigint {
    return this.runQueues[cpu]!;
  }

  rtQueue(cpu: number, priority: number): bigint {
    return (
      this.runQueue(cpu) +
      at('rq', 'rt') +
      at('rt_rq', 'active') +
      at('rt_prio_array', 'queue') +
      BigInt(priority * 16)
    );
  }

  /** The task running on a CPU: its run queue's curr and its per-CPU current_task. */
  setCurrent(cpu: number, task: bigint): void {
    this.set64(this.runQueue(cpu) + at('rq', 'curr'), task);
    this.set64(this.perCpu[cpu]! + CURRENT_TASK, task);
  }

  /** A struct cred; with `owner`, its cred->user is that uid's user_struct. */
  cred(values: FakeCredentials, owner?: number): bigint {
    const cred = this.alloc(0x40);
    this.set32(cred + at('cred', 'uid'), values.uid);
    this.set32(cred + at('cred', 'gid'), values.gid);
    this.set32(cred + at('cred', 'euid'), values.euid);
    this.set32(cred + at('cred', 'egid'), values.egid);
    if (owner !== undefined) {
      const user = this.alloc(0x20);
      this.set32(user + at('user_struct', 'uid'), owner);
      this.set64(cred + at('cred', 'user'), user);
    }
    return cred;
  }

  /** Gives a task fresh credentials (its cred->user is `owner`'s, by default its own uid's). */
  setCredentials(task: bigint, values: FakeCredentials, owner = values.uid): bigint {
    const cred = this.cred(values, owner);
    this.set64(task + at('task_struct', 'real_cred'), cred);
    return cred;
  }

  /** Writes the credentials in place, as a rootkit patching a cred does (cred->user untouched). */
  patchCredentials(task: bigint, values: FakeCredentials): void {
    const cred = this.get64(task + at('task_struct', 'real_cred'));
    this.set32(cred + at('cred', 'uid'), values.uid);
    this.set32(cred + at('cred', 'gid'), values.gid);
    this.set32(cred + at('cred', 'euid'), values.euid);
    this.set32(cred + at('cred', 'egid'), values.egid);
  }

  setParent(task: bigint, parent: bigint): void {
    this.set64(task + at('task_struct', 'real_parent'), parent);
  }

  setFlags(task: bigint, flags: number): void {
    this.set32(task + at('task_struct', 'flags'), flags);
  }

  setStartTime(task: bigint, nanoseconds: bigint): void {
    this.set64(task + at('task_struct', 'start_time'), nanoseconds);
  }

  setInExecve(task: bigint, inExecve: boolean): void {
    const address = task + at('task_struct', 'in_execve');
    this.bytes[Number(address)] = inExecve ? 0x2 : 0; // bit 1 of the bitfield's byte
  }

  /**
   * Gives a task an address space (x86-64 4-level tables) where each page of `pages` is mapped at
   * its virtual address; returns the mm_struct.
   */
  addressSpace(task: bigint, pages: { virtual: bigint; bytes: Uint8Array }[]): bigint {
    const tables = this.allocPages(PAGE * (1 + 3 * pages.length));
    const builder = new PageTableBuilder(X86_64_4LEVEL, this.bytes, Number(tables));
    for (const page of pages) {
      const frame = this.allocPages(PAGE);
      this.bytes.set(page.bytes.subarray(0, PAGE), Number(frame));
      builder.map(page.virtual & ~0xfffn, frame, PAGE, 0x7n);
    }
    const mm = this.alloc(0x40);
    // The direct map starts at 0 in this kernel: mm->pgd is the table's physical address.
    this.set64(mm + at('mm_struct', 'pgd'), builder.root);
    this.set64(task + at('task_struct', 'mm'), mm);
    return mm;
  }

  /**
   * A mount (its struct mount; the vfsmount inside it is what paths point at) whose root dentry is
   * `root`, mounted on `mountpoint` of `parent` (none: the root of the mount tree).
   */
  mount(root: bigint, parent?: { vfsmount: bigint; mountpoint: bigint }): bigint {
    const mount = this.alloc(0x60);
    const vfsmount = mount + at('mount', 'mnt');
    this.set64(vfsmount + at('vfsmount', 'mnt_root'), root);
    this.set64(
      mount + at('mount', 'mnt_parent'),
      parent ? parent.vfsmount - at('mount', 'mnt') : mount,
    );
    this.set64(mount + at('mount', 'mnt_mountpoint'), parent?.mountpoint ?? root);
    return vfsmount;
  }

  /** A dentry named `name` under `parent` (none: its own parent, a root), hashed unless unlinked. */
  dentry(name: string, parent?: bigint, options: { unlinked?: boolean } = {}): bigint {
    const dentry = this.alloc(0x40);
    this.set64(dentry + at('dentry', 'd_parent'), parent ?? dentry);
    this.set64(dentry + at('dentry', 'd_name.name'), this.string(name));
    this.set64(dentry + at('dentry', 'd_hash.pprev'), options.unlinked ? 0n : dentry);
    return dentry;
  }

  /** Makes `mm`'s executable the file at (vfsmount, dentry); returns the struct file. */
  setExecutable(mm: bigint, vfsmount: bigint, dentry: bigint): bigint {
    const file = this.alloc(0x40);
    this.set64(file + at('file', 'f_path') + at('path', 'mnt'), vfsmount);
    this.set64(file + at('file', 'f_path') + at('path', 'dentry'), dentry);
    this.set64(mm + at('mm_struct', 'exe_file'), file);
    return file;
  }

  /** A struct linux_binprm for an exec of `filename` whose argument strings start at `p`. */
  binprm(filename: string, argc: number, p: bigint): bigint {
    const bprm = this.alloc(0x100);
    this.set64(bprm + at('linux_binprm', 'filename'), this.string(filename));
    this.set32(bprm + at('linux_binprm', 'argc'), argc);
    this.set64(bprm + at('linux_binprm', 'p'), p);
    return bprm;
  }

  /** A struct sockaddr_in (family, big-endian port, address) in fresh memory. */
  sockaddrIn(ip: string, port: number, family = 2): bigint {
    const bytes = new Uint8Array(16);
    bytes[0] = family & 0xff;
    bytes[1] = family >> 8;
    bytes[2] = port >> 8;
    bytes[3] = port & 0xff;
    bytes.set(ip.split('.').map(Number), 4);
    return this.put(bytes);
  }

  /** A struct module whose core (text first) holds `code`, linked on the module list. */
  module(
    name: string,
    code: Uint8Array,
    options: { size?: number; link?: boolean; taints?: bigint } = {},
  ): bigint {
    const module = this.alloc(0x200);
    const base = this.put(code);
    new TextEncoder().encodeInto(
      name.slice(0, 55),
      this.bytes.subarray(Number(module + at('module', 'name'))),
    );
    this.set64(module + at('module', 'core_layout.base'), base);
    this.set32(module + at('module', 'core_layout.size'), options.size ?? code.length);
    this.set32(module + at('module', 'core_layout.text_size'), code.length);
    this.set64(module + at('module', 'taints'), options.taints ?? 0n);
    if (options.link ?? true) this.listAddTail(this.modules, module + at('module', 'list'));
    return module;
  }

  /**
   * Kernel text holding `functions` (each `stride` bytes of `fill`), between _stext and _etext;
   * returns each function's address.
   */
  kernelText(functions: string[], stride = 0x100, fill = 0x90): Map<string, bigint> {
    const length = functions.length * stride;
    const start = this.allocPages(length);
    this.bytes.fill(fill, Number(start), Number(start) + length);
    this.symbols.set('_stext', start);
    this.symbols.set('_etext', start + BigInt(length));
    const addresses = new Map<string, bigint>();
    functions.forEach((name, index) => {
      const address = start + BigInt(index * stride);
      this.symbols.set(name, address);
      addresses.set(name, address);
    });
    return addresses;
  }

  /** sys_call_table holding `targets`, bounded by the symbol that follows it. */
  syscallTable(targets: bigint[]): bigint {
    const table = this.allocPages(targets.length * 8 + 8);
    targets.forEach((target, index) => this.set64(table + BigInt(index * 8), target));
    this.symbols.set('sys_call_table', table);
    this.symbols.set('sys_call_table_end', table + BigInt(targets.length * 8));
    return table;
  }

  /** idt_table: 256 gates, vector v pointing at `handler(v)`. */
  idt(handler: (vector: number) => bigint): bigint {
    const idt = this.allocPages(PAGE);
    for (let vector = 0; vector < 256; vector++)
      this.bytes.set(idtGate(handler(vector)), Number(idt) + vector * 16);
    this.symbols.set('idt_table', idt);
    return idt;
  }

  /** sched_entity.run_node of a task. */
  runNode(task: bigint): bigint {
    return task + at('task_struct', 'se') + at('sched_entity', 'run_node');
  }

  /** Puts rb_nodes in a tree (a valid binary shape; colours are not read): node i's children are 2i+1, 2i+2. */
  rbTree(root: bigint, nodes: bigint[]): void {
    this.set64(root, nodes[0] ?? 0n);
    nodes.forEach((node, index) => {
      this.set64(node + at('rb_node', 'rb_left'), nodes[2 * index + 1] ?? 0n);
      this.set64(node + at('rb_node', 'rb_right'), nodes[2 * index + 2] ?? 0n);
    });
  }

  cfsTimeline(cfsRq: bigint): bigint {
    return cfsRq + at('cfs_rq', 'tasks_timeline') + at('rb_root_cached', 'rb_root');
  }

  /** Queues tasks on a CPU's CFS tree, optionally through a group entity with its own cfs_rq. */
  queueCfs(cpu: number, tasks: bigint[], viaGroup = false): void {
    const top = this.runQueue(cpu) + at('rq', 'cfs');
    if (!viaGroup)
      return this.rbTree(
        this.cfsTimeline(top),
        tasks.map((task) => this.runNode(task)),
      );
    const group = this.alloc(0x80);
    const groupQueue = this.alloc(0x80);
    this.set64(group + at('sched_entity', 'my_q'), groupQueue);
    this.rbTree(this.cfsTimeline(top), [group + at('sched_entity', 'run_node')]);
    this.rbTree(
      this.cfsTimeline(groupQueue),
      tasks.map((task) => this.runNode(task)),
    );
  }

  queueRt(cpu: number, priority: number, task: bigint): void {
    this.listAddTail(
      this.rtQueue(cpu, priority),
      task + at('task_struct', 'rt') + at('sched_rt_entity', 'run_list'),
    );
  }

  queueDl(cpu: number, task: bigint): void {
    const root =
      this.runQueue(cpu) + at('rq', 'dl') + at('dl_rq', 'root') + at('rb_root_cached', 'rb_root');
    this.rbTree(root, [task + at('task_struct', 'dl') + at('sched_dl_entity', 'rb_node')]);
  }

  /** The address of init_pid_ns's xa_head. */
  get xaHead(): bigint {
    return (
      this.namespace + at('pid_namespace', 'idr') + at('idr', 'idr_rt') + at('xarray', 'xa_head')
    );
  }

  /** Writes the ID tree from `ids` as an XArray: nodes of 64 slots, shifts 6 apart, tagged pointers. */
  writeIdTree(): void {
    const entries = [...this.ids.entries()].sort((a, b) => a[0] - b[0]);
    const max = entries.at(-1)?.[0] ?? 0;
    if (entries.length === 0) return this.set64(this.xaHead, 0n);
    if (max === 0) return this.set64(this.xaHead, entries[0]![1]);
    let shift = 0;
    while (max >= 2 ** (shift + 6)) shift += 6;
    const build = (nodeShift: number, base: number): bigint => {
      const node = this.alloc(576);
      this.bytes[Number(node + at('xa_node', 'shift'))] = nodeShift;
      const span = 2 ** nodeShift;
      for (let slot = 0; slot < XA_CHUNK_SLOTS; slot++) {
        const from = base + slot * span;
        const inside = entries.filter(([index]) => index >= from && index < from + span);
        if (inside.length === 0) continue;
        const value = nodeShift === 0 ? inside[0]![1] : build(nodeShift - 6, from) + 2n;
        this.set64(node + at('xa_node', 'slots') + BigInt(slot * 8), value);
      }
      return node;
    };
    this.set64(this.xaHead, build(shift, 0) + 2n);
  }

  /**
   * The kernel as the views and detectors see it (the ID tree written first): memory where
   * virtual = physical, the direct map at 0, x86-64 user page tables, and the given architecture.
   */
  kernel(arch: Architecture = X86_64): LinuxKernel {
    this.writeIdTree();
    const types = fakeTypes(fakeLayout, rootkitEnums);
    const symbols = new SortedSymbolTable(
      [...this.symbols].map(([name, address]) => ({ name, address, type: 'T' })),
    );
    return {
      arch,
      banner: 'Linux version 6.1.0-fake',
      release: '6.1.0-fake',
      slide: 0n,
      textPhysical: this.symbols.get('_stext') ?? 0n,
      directMapBase: 0n,
      root: 0n,
      image: { translator: x86Translator(X86_64_4LEVEL) },
      symbols,
      types,
      reader: new KernelReader(identitySpace(this.bytes), types),
      sources: { symbols: 'fake', types: 'fake' },
      newGeneration: () => void this.generations++,
    } as unknown as LinuxKernel;
  }
}
