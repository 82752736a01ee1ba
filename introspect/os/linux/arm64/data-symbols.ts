// Data symbols an arm64 kernel built without CONFIG_KALLSYMS_ALL (Debian's) leaves out of kallsyms,
// found in the image by what they hold: .BTF by its header, linux_banner by its text, sys_call_table
// by its first entries (the __arm64_sys_* text symbols kallsyms does have), init_task and the module
// list by their shape, checked through the kernel's own types. Every search is bounded.
import { isRingsideError } from '../../../errors.js';
import { declaredBtfLength, BTF_MAGIC } from '../btf/index.js';
import type { KernelReader } from '../kernel-reader.js';
import type { KernelSymbol, SymbolTable } from '../profile/types.js';

const MAX_BTF_BYTES = 64 << 20;
const MAX_SYSCALLS = 1024;
const MODULE_NAME_LEN = 56;
const MAX_RING_STEPS = 1 << 20;

/** Where the vmlinux .BTF lies in the image: the first well-formed BTF blob of a plausible size. */
export function findBtfInImage(
  bytes: Uint8Array,
  minimumBytes = 64 << 10,
): { start: number; end: number } | undefined {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Magic 0xeb9f little-endian, version 1, flags 0.
  const signature = Buffer.from([BTF_MAGIC & 0xff, BTF_MAGIC >> 8, 1, 0]);
  for (let at = buffer.indexOf(signature); at >= 0; at = buffer.indexOf(signature, at + 1)) {
    if (at % 4 !== 0 || at + 24 > buffer.length) continue;
    let length: number;
    try {
      length = declaredBtfLength(buffer.subarray(at, at + 24), 'image .BTF');
    } catch {
      continue;
    }
    // vmlinux BTF is megabytes; modules' and BPF programs' blobs are small.
    if (length < minimumBytes || length > MAX_BTF_BYTES || at + length > buffer.length) continue;
    return { start: at, end: at + length };
  }
  return undefined;
}

/**
 * linux_banner: a whole "Linux version …\n" string in the image (rodata precedes the log buffer).
 * Since 6.1 the image also keeps a weak, unused banner built before the version number was known
 * ("# SMP …"): the one whose UTS_VERSION has its number ("#1 SMP …") wins.
 */
export function findBannerInImage(bytes: Uint8Array): number | undefined {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const needle = Buffer.from('Linux version ', 'latin1');
  let first: number | undefined;
  let seen = 0;
  for (let at = buffer.indexOf(needle); at >= 0 && seen < 64; at = buffer.indexOf(needle, at + 1)) {
    if (at > 0 && buffer[at - 1] !== 0) continue; // inside another string
    const end = buffer.indexOf(0, at);
    if (end <= at || end - at >= 512 || buffer[end - 1] !== 0x0a) continue;
    seen++;
    first ??= at;
    if (/ #\d/.test(buffer.toString('latin1', at, end))) return at;
  }
  return first;
}

/**
 * sys_call_table: its entries 0 and 1 point at __arm64_sys_io_setup and __arm64_sys_io_destroy.
 * Its length: entries while they point at __arm64_sys_* text or outside the kernel text (a hook must
 * be counted, not end the table); the first kernel-text entry of another kind (the compat table
 * that follows) or a non-pointer ends it.
 */
export function findSyscallTableInImage(
  bytes: Uint8Array,
  symbols: SymbolTable,
  text: { start: bigint; end: bigint },
): { offset: number; entries: number } | undefined {
  const first = symbols.address('__arm64_sys_io_setup');
  const second = symbols.address('__arm64_sys_io_destroy');
  if (first === undefined || second === undefined) return undefined;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pattern = Buffer.alloc(16);
  pattern.writeBigUInt64LE(first, 0);
  pattern.writeBigUInt64LE(second, 8);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = buffer.indexOf(pattern); at >= 0; at = buffer.indexOf(pattern, at + 1)) {
    if (at % 8 !== 0) continue;
    let entries = 0;
    while (entries < MAX_SYSCALLS && at + (entries + 1) * 8 <= bytes.length) {
      const target = view.getBigUint64(at + entries * 8, true);
      if (target >> 48n !== 0xffffn) break;
      if (target >= text.start && target < text.end) {
        const nearest = symbols.nearest(target);
        if (!nearest?.symbol.name.startsWith('__arm64_sys_')) break;
      }
      entries++;
    }
    return { offset: at, entries };
  }
  return undefined;
}

/** Offsets (in the image) of every occurrence of a NUL-terminated string, at most `limit`. */
function occurrences(bytes: Uint8Array, text: string, limit: number): number[] {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const needle = Buffer.from(`${text}\0`, 'latin1');
  const found: number[] = [];
  for (let at = buffer.indexOf(needle); at >= 0 && found.length < limit;) {
    found.push(at);
    at = buffer.indexOf(needle, at + 1);
  }
  return found;
}

const readable = <T>(read: () => T): T | undefined => {
  try {
    return read();
  } catch (error) {
    if (isRingsideError(error)) return undefined;
    throw error;
  }
};

/**
 * init_task: the task_struct in the image whose comm is "swapper/0" (or "swapper" before the idle
 * task is named), whose pid is 0, and whose tasks list is consistent (next->prev points back).
 */
export function findInitTask(
  reader: KernelReader,
  bytes: Uint8Array,
  virtualStart: bigint,
): bigint | undefined {
  const comm = Number(reader.offset('task_struct', 'comm'));
  const tasks = reader.offset('task_struct', 'tasks');
  const pid = reader.offset('task_struct', 'pid');
  for (const name of ['swapper/0', 'swapper']) {
    for (const at of occurrences(bytes, name, 4096)) {
      if ((at - comm) % 8 !== 0 || at < comm) continue;
      const task = virtualStart + BigInt(at - comm);
      const ok = readable(() => {
        if (reader.u32(task + pid) !== 0) return false;
        const next = reader.u64(task + tasks);
        return next !== task + tasks && reader.u64(next + 8n) === task + tasks;
      });
      if (ok) return task;
    }
  }
  return undefined;
}

/**
 * The `modules` list head: a list_head in the image whose next entry is a struct module (its
 * list.prev points back at the head, its name is a short printable string) and whose ring returns
 * to it. An empty list (no module loaded) cannot be told from any other empty list_head: undefined.
 */
export function findModuleList(
  reader: KernelReader,
  bytes: Uint8Array,
  virtualStart: bigint,
  dataFrom: number,
): bigint | undefined {
  const listOffset = reader.offset('module', 'list');
  const nameOffset = reader.offset('module', 'name');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const high = Number(virtualStart >> 32n);
  // Ring walks of all candidates together read at most this many pointers: a hostile image full of
  // look-alikes costs a bounded amount of work, not one long walk per candidate.
  let budget = MAX_RING_STEPS;
  // Modules live within a few GiB of the image (RANDOMIZE_MODULE_REGION_FULL): same top 16 bits.
  for (let at = dataFrom - (dataFrom % 8); at + 16 <= bytes.length; at += 8) {
    const nextHigh = view.getUint32(at + 4, true);
    if (nextHigh >>> 16 !== high >>> 16 || view.getUint32(at + 12, true) >>> 16 !== high >>> 16)
      continue;
    const head = virtualStart + BigInt(at);
    const next = view.getBigUint64(at, true);
    const prev = view.getBigUint64(at + 8, true);
    if (next === head || prev === head) continue;
    // The image itself holds no struct module of a loaded module.
    if (next >= virtualStart && next < virtualStart + BigInt(bytes.length)) continue;
    const ok = readable(() => {
      if (reader.u64(next + 8n) !== head) return false;
      const name = reader.cString(next - listOffset + nameOffset, MODULE_NAME_LEN);
      if (!/^[A-Za-z0-9_-]{1,55}$/.test(name)) return false;
      // The ring must come back to the head within a bounded number of steps.
      let node = reader.u64(next);
      for (let steps = 0; steps < 65536 && budget > 0; steps++, budget--) {
        if (node === head) return true;
        node = reader.u64(node);
      }
      return false;
    });
    if (ok) return head;
    if (budget <= 0) return undefined;
  }
  return undefined;
}

/** Named addresses found by these searches, as symbols (type letters as kallsyms would give). */
export const derivedSymbol = (name: string, address: bigint, type: string): KernelSymbol => ({
  name,
  address,
  type,
});

/**
 * init_pid_ns, through init_task: init_task.thread_pid->numbers[0].ns, a kernel pointer to a
 * pid_namespace of level 0.
 */
export function findInitPidNamespace(reader: KernelReader, initTask: bigint): bigint | undefined {
  return readable(() => {
    const pid = reader.u64(initTask + reader.offset('task_struct', 'thread_pid'));
    const namespace = reader.u64(
      pid + reader.offset('pid', 'numbers') + reader.offset('upid', 'ns'),
    );
    if (namespace >> 48n !== 0xffffn) return undefined;
    return reader.fieldNumber(namespace, 'pid_namespace', 'level') === 0 ? namespace : undefined;
  });
}
