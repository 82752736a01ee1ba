// The eBPF programs loaded in a kernel, from its program IDR (`prog_idr`, an XArray): id, type and
// name, tag, JIT state, the loader's uid, the helpers each program calls (decoded from its verified
// instructions, where helper calls hold the helper's offset from __bpf_call_base), and what links
// attach it (`link_idr`: raw tracepoint name, tracing target). Bounded, and every read may fail.
import { isRingsideError } from '../../errors.js';
import type { LinuxKernel } from './linux-kernel.js';
import type { WalkProblem } from './list-walk.js';
import { listTasks } from './tasks.js';
import type { TypeInfo } from './profile/types.js';
import { walkXarray } from './xarray-walk.js';

export interface BpfProgram {
  id: number;
  address: bigint;
  type: number;
  /** `kprobe`, `tracepoint`, `lsm` … from the kernel's enum bpf_prog_type (prefix dropped). */
  typeName: string;
  name: string;
  /** The program's tag (a hash of its instructions), as bpftool prints it. */
  tag: string;
  jited: boolean;
  /** Instructions (after verification). */
  instructions: number;
  /** uid of the user that loaded it (bpf_prog_aux.user). */
  uid?: number;
  /** Nanoseconds since boot at load time. */
  loadTime?: bigint;
  /** Kernel helpers its instructions call, by symbol name (or address when unnamed), sorted. */
  helpers: string[];
  /** The instructions were not all read (a program longer than the limit): helpers may be missing. */
  helpersPartial?: boolean;
  /** The function a tracing/LSM program attaches to (bpf_prog_aux.attach_func_name). */
  attachTo?: string;
  /** Links attaching it: `raw_tracepoint:sys_enter`, `tracing`, `perf_event` … */
  links: string[];
}

export interface BpfPrograms {
  programs: BpfProgram[];
  problems: WalkProblem[];
}

/** Bounds: programs and links read, instructions decoded per program, descriptors per process and in all. */
export const BPF_LIMITS = {
  programs: 4096,
  links: 4096,
  instructions: 1 << 17,
  descriptors: 4096,
  files: 1 << 16,
};
const BPF_OBJ_NAME_LEN = 16;
const BPF_TAG_SIZE = 8;
const BPF_CALL = 0x85; // BPF_JMP | BPF_CALL
const hex = (value: bigint): string => `0x${value.toString(16)}`;

/** Helpers that let a program tamper with what it observes (write user memory, fake a return). */
export const TAMPERING_HELPERS = ['bpf_probe_write_user', 'bpf_override_return'] as const;

const enumNames = new WeakMap<object, Map<string, Map<bigint, string>>>();

/** The name of `value` in the kernel's enum `name` (e.g. bpf_prog_type), from its types. */
export function enumName(kernel: LinuxKernel, name: string, value: number): string | undefined {
  let byEnum = enumNames.get(kernel.types);
  if (!byEnum) {
    byEnum = new Map();
    enumNames.set(kernel.types, byEnum);
  }
  let values = byEnum.get(name);
  if (!values) {
    values = new Map();
    for (const id of kernel.types.ids()) {
      const type: TypeInfo = kernel.types.get(id);
      if (type.kind === 'enum' && type.name === name) {
        for (const entry of type.values) values.set(entry.value, entry.name);
        break;
      }
    }
    byEnum.set(name, values);
  }
  return values.get(BigInt(value));
}

function typeName(kernel: LinuxKernel, enumType: string, prefix: string, value: number): string {
  const name = enumName(kernel, enumType, value);
  return name?.startsWith(prefix) ? name.slice(prefix.length).toLowerCase() : `type ${value}`;
}

function guarded<T>(problems: WalkProblem[], address: bigint, what: string, read: () => T) {
  try {
    return read();
  } catch (error) {
    if (!isRingsideError(error)) throw error;
    problems.push({ address, message: `${what} ${hex(address)}: ${error.message}` });
    return undefined;
  }
}

/** Helper names called by `count` instructions at `insns` (BPF_CALL with src_reg 0 = a helper). */
function helperCalls(kernel: LinuxKernel, insns: bigint, count: number): string[] {
  const base = kernel.symbols.address('__bpf_call_base');
  if (base === undefined) return [];
  const names = new Set<string>();
  const chunk = 4096; // instructions per read
  for (let start = 0; start < count; start += chunk) {
    const length = Math.min(chunk, count - start);
    const bytes = kernel.reader.bytes(insns + BigInt(start * 8), length * 8);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let index = 0; index < length; index++) {
      const at = index * 8;
      if (bytes[at] !== BPF_CALL || bytes[at + 1]! >> 4 !== 0) continue;
      const target = base + BigInt(view.getInt32(at + 4, true));
      const nearest = kernel.symbols.nearest(target);
      names.add(nearest && nearest.offset === 0n ? nearest.symbol.name : hex(target));
    }
  }
  return [...names].sort();
}

/** Links by program address: `<link type>[:<tracepoint>]`, from link_idr. */
function linksByProgram(kernel: LinuxKernel, problems: WalkProblem[]): Map<bigint, string[]> {
  const r = kernel.reader;
  const byProgram = new Map<bigint, string[]>();
  const idr = kernel.symbols.address('link_idr');
  if (idr === undefined || !r.hasField('bpf_link', 'prog')) return byProgram;
  const walk = walkXarray(r, idr + r.offset('idr', 'idr_rt'), { entries: BPF_LIMITS.links });
  problems.push(...walk.problems.map((p) => ({ ...p, message: `link_idr: ${p.message}` })));
  for (const { entry: link } of walk.entries) {
    guarded(problems, link, 'bpf_link', () => {
      const copy = r.struct(link, 'bpf_link', ['type', 'prog']);
      const type = Number(copy.value('type'));
      let name = typeName(kernel, 'bpf_link_type', 'BPF_LINK_TYPE_', type);
      // A raw tracepoint link names its tracepoint: bpf_raw_tp_link.btp->tp->name.
      if (name === 'raw_tracepoint' && r.hasField('bpf_raw_tp_link', 'btp')) {
        const btp = r.u64(link + r.offset('bpf_raw_tp_link', 'btp'));
        const tp = btp === 0n ? 0n : r.u64(btp + r.offset('bpf_raw_event_map', 'tp'));
        const text = tp === 0n ? 0n : r.u64(tp + r.offset('tracepoint', 'name'));
        if (text !== 0n) name += `:${r.cString(text, 128)}`;
      }
      const prog = copy.u64('prog');
      byProgram.set(prog, [...(byProgram.get(prog) ?? []), name]);
    });
  }
  return byProgram;
}

function readProgram(
  kernel: LinuxKernel,
  id: number,
  address: bigint,
  links: Map<bigint, string[]>,
): BpfProgram {
  const r = kernel.reader;
  const prog = r.struct(address, 'bpf_prog', ['type', 'len', 'jited', 'tag', 'aux']);
  const type = Number(prog.value('type'));
  const length = prog.u32('len');
  const tagAt = prog.offset('tag', BPF_TAG_SIZE);
  const tag = Buffer.from(prog.bytes.subarray(tagAt, tagAt + BPF_TAG_SIZE)).toString('hex');
  const aux = prog.u64('aux');
  const count = Math.min(length, BPF_LIMITS.instructions);
  const program: BpfProgram = {
    id,
    address,
    type,
    typeName: typeName(kernel, 'bpf_prog_type', 'BPF_PROG_TYPE_', type),
    name: '',
    tag,
    jited: prog.value('jited') !== 0n,
    instructions: length,
    helpers: helperCalls(kernel, address + r.offset('bpf_prog', 'insnsi'), count),
    links: links.get(address) ?? [],
  };
  if (count < length) program.helpersPartial = true;
  if (aux !== 0n) {
    program.name = r.cString(aux + r.offset('bpf_prog_aux', 'name'), BPF_OBJ_NAME_LEN);
    const user = r.u64(aux + r.offset('bpf_prog_aux', 'user'));
    if (user !== 0n) program.uid = r.u32(user + r.offset('user_struct', 'uid'));
    if (r.hasField('bpf_prog_aux', 'load_time'))
      program.loadTime = r.u64(aux + r.offset('bpf_prog_aux', 'load_time'));
    const attach = r.u64(aux + r.offset('bpf_prog_aux', 'attach_func_name'));
    if (attach !== 0n) program.attachTo = r.cString(attach, 128);
  }
  return program;
}

/** Every program in prog_idr, in id order; an unreadable one is a problem, the rest are read. */
export function listBpfPrograms(kernel: LinuxKernel): BpfPrograms {
  const r = kernel.reader;
  const problems: WalkProblem[] = [];
  const idr = kernel.symbols.address('prog_idr');
  if (idr === undefined) return { programs: [], problems };
  const walk = walkXarray(r, idr + r.offset('idr', 'idr_rt'), { entries: BPF_LIMITS.programs });
  problems.push(...walk.problems.map((p) => ({ ...p, message: `prog_idr: ${p.message}` })));
  const links = linksByProgram(kernel, problems);
  const idBase = r.hasField('idr', 'idr_base')
    ? (guarded(problems, idr, 'prog_idr', () => r.fieldNumber(idr, 'idr', 'idr_base')) ?? 0)
    : 0;
  const programs: BpfProgram[] = [];
  for (const { index, entry } of walk.entries) {
    const program = guarded(problems, entry, 'bpf_prog', () =>
      readProgram(kernel, Number(index) + idBase, entry, links),
    );
    if (program) programs.push(program);
  }
  return { programs, problems };
}

/** Why a program can tamper with the kernel's view (empty when it cannot, as far as is checked). */
export function tamperingReasons(program: BpfProgram): string[] {
  const reasons: string[] = [];
  for (const helper of TAMPERING_HELPERS)
    if (program.helpers.includes(helper)) reasons.push(`calls ${helper}`);
  if (program.typeName === 'lsm')
    reasons.push(`is an LSM program${program.attachTo ? ` on ${program.attachTo}` : ''}`);
  return reasons;
}

/** A process holding a program through a descriptor (of the program itself, or of a link to it). */
export interface BpfHolder {
  pid: number;
  name: string;
  /** `prog` or `link`: what the descriptor is. */
  via: 'prog' | 'link';
}

/**
 * The processes that hold each of `programs` open (the kernel does not record who loaded a program:
 * the loader, or whoever it passed the descriptor to, holds it while it lives unpinned). Each
 * process's descriptor table is read (bounded); one that cannot be read is skipped.
 */
export function bpfHolders(
  kernel: LinuxKernel,
  programs: ReadonlySet<bigint>,
): Map<bigint, BpfHolder[]> {
  const r = kernel.reader;
  const holders = new Map<bigint, BpfHolder[]>();
  const progFops = kernel.symbols.address('bpf_prog_fops');
  const linkFops = kernel.symbols.address('bpf_link_fops');
  if (programs.size === 0 || progFops === undefined || !r.hasField('task_struct', 'files'))
    return holders;
  const filesOffset = r.offset('task_struct', 'files');
  const fdtOffset = r.offset('files_struct', 'fdt');
  const opsOffset = r.offset('file', 'f_op');
  const dataOffset = r.offset('file', 'private_data');
  const linkProg = r.hasField('bpf_link', 'prog') ? r.offset('bpf_link', 'prog') : undefined;
  const tables = new Set<bigint>();
  let budget = BPF_LIMITS.files;
  for (const task of listTasks(kernel).tasks) {
    if (budget <= 0) break;
    try {
      const files = r.u64(task.address + filesOffset);
      if (files === 0n || tables.has(files)) continue;
      tables.add(files);
      const fdt = r.u64(files + fdtOffset);
      const count = Math.min(
        r.fieldNumber(fdt, 'fdtable', 'max_fds'),
        BPF_LIMITS.descriptors,
        budget,
      );
      budget -= count;
      const array = r.u64(fdt + r.offset('fdtable', 'fd'));
      const bytes = r.bytes(array, count * 8);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let fd = 0; fd < count; fd++) {
        const file = view.getBigUint64(fd * 8, true);
        if (file === 0n) continue;
        const ops = r.u64(file + opsOffset);
        let prog: bigint | undefined;
        let via: BpfHolder['via'] = 'prog';
        if (ops === progFops) prog = r.u64(file + dataOffset);
        else if (ops === linkFops && linkProg !== undefined) {
          via = 'link';
          const link = r.u64(file + dataOffset);
          prog = link === 0n ? undefined : r.u64(link + linkProg);
        }
        if (prog === undefined || !programs.has(prog)) continue;
        const list = holders.get(prog) ?? [];
        if (!list.some((holder) => holder.pid === task.tgid && holder.via === via))
          list.push({ pid: task.tgid, name: task.comm, via });
        holders.set(prog, list);
      }
    } catch (error) {
      if (!isRingsideError(error)) throw error;
    }
  }
  return holders;
}
