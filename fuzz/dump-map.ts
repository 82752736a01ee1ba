// Where the structures worth mutating lie in a clean dump, as file offsets: the ELF container, the
// kernel's page tables, kallsyms and BTF (the "open" path), and the tasks, credentials, modules, tables
// and per-CPU data the commands walk (the "data" path). Found with Ringside itself on the clean dump.
import { closeSync, openSync, readSync } from 'node:fs';
import { reconstructKallsyms } from '../introspect/os/linux/kallsyms/reconstruct.js';
import { listModules } from '../introspect/os/linux/modules.js';
import { listTasks } from '../introspect/os/linux/tasks.js';
import { openSnapshotKernel } from '../cli/snapshot-context.js';

/** Mutations of "open" regions need the kernel reopened; "data" ones only a new generation. */
export type RegionClass = 'open' | 'data';

export interface Region {
  name: string;
  class: RegionClass;
  offset: number;
  length: number;
}

export interface DumpMap {
  path: string;
  fileSize: number;
  regions: Region[];
  /** Physical → file offset for the RAM segments. */
  segments: { physical: bigint; fileOffset: number; length: number }[];
  /** Kernel virtual addresses of list nodes worth pointing at (task list nodes, module list nodes). */
  pointers: bigint[];
  /** Base of the direct map and the offset of task_struct.tasks, for forged task chains. */
  directMapBase: bigint;
  tasksOffset: number;
  initTaskNode: bigint;
  /** File offset of init_task.tasks.next and of a run of zero pages (a place to forge structures). */
  initTaskNextOffset: number;
  zeroPages: { offset: number; physical: bigint; pages: number };
  /** File offset and size of the PT_NOTE segment and the program header table. */
  notes: { offset: number; length: number; header: number };
  programHeaders: { offset: number; entrySize: number; count: number };
}

export function fileOffsetOf(segments: DumpMap['segments'], physical: bigint): number | undefined {
  for (const segment of segments)
    if (physical >= segment.physical && physical < segment.physical + BigInt(segment.length))
      return segment.fileOffset + Number(physical - segment.physical);
  return undefined;
}

export function mapDump(path: string): DumpMap {
  const { snapshot, kernel } = openSnapshotKernel(path);
  try {
    const segments = snapshot.layout.segments;
    const r = kernel.reader;
    const fileOf = (virtual: bigint): number | undefined => {
      const translated = r.space.translate(virtual);
      return translated.ok ? fileOffsetOf(segments, translated.physical) : undefined;
    };
    const regions: Region[] = [];
    const add = (name: string, cls: RegionClass, virtual: bigint, length: number): void => {
      const offset = fileOf(virtual);
      const end = fileOf(virtual + BigInt(Math.max(length, 1) - 1));
      if (offset !== undefined && end === offset + Math.max(length, 1) - 1)
        regions.push({ name, class: cls, offset, length });
    };
    const addPhysical = (name: string, cls: RegionClass, physical: bigint, length: number) => {
      const offset = fileOffsetOf(segments, physical);
      if (offset !== undefined) regions.push({ name, class: cls, offset, length });
    };

    // The container.
    const header = readAt(path, 0, 64);
    const headerView = new DataView(header.buffer);
    const phoff = Number(headerView.getBigUint64(32, true));
    const entrySize = headerView.getUint16(54, true);
    const count = headerView.getUint16(56, true);
    regions.push({ name: 'elf-header', class: 'open', offset: 0, length: 64 });
    regions.push({
      name: 'program-headers',
      class: 'open',
      offset: phoff,
      length: entrySize * count,
    });
    const table = new DataView(readAt(path, phoff, entrySize * count).buffer);
    let notes = { offset: 0, length: 0, header: 0 };
    for (let index = 0; index < count; index++)
      if (table.getUint32(index * entrySize, true) === 4) {
        notes = {
          offset: Number(table.getBigUint64(index * entrySize + 8, true)),
          length: Number(table.getBigUint64(index * entrySize + 32, true)),
          header: phoff + index * entrySize,
        };
        regions.push({ name: 'notes', class: 'open', offset: notes.offset, length: notes.length });
      }

    // Paging: the kernel's top-level table and the tables under its last entry.
    addPhysical('page-table-root', 'open', kernel.root, 4096);
    const pml4e = r.u64(kernel.directMapBase + kernel.root + 0xff8n);
    const pdpt = pml4e & 0x000f_ffff_ffff_f000n;
    addPhysical('page-table-pdpt', 'open', pdpt, 4096);
    const pdpte = r.u64(kernel.directMapBase + pdpt + 510n * 8n);
    addPhysical('page-table-pd', 'open', pdpte & 0x000f_ffff_ffff_f000n, 4096);

    // Symbols and types.
    const location = reconstructKallsyms(kernel.image.bytes).location;
    const imageRegion = (name: string, at: number, length: number) =>
      addPhysical(name, 'open', kernel.image.physicalStart + BigInt(at), length);
    imageRegion('kallsyms-tokens', location.tokenTable, 4096);
    imageRegion('kallsyms-token-index', location.tokenIndex, 512);
    imageRegion('kallsyms-markers', location.markers, 4096);
    imageRegion('kallsyms-names', location.names, 65536);
    imageRegion('kallsyms-num-syms', location.numSyms, 8);
    imageRegion('kallsyms-offsets', location.offsets, 65536);
    const btfStart = kernel.symbols.address('__start_BTF')!;
    const btfStop = kernel.symbols.address('__stop_BTF')!;
    add('btf', 'open', btfStart, Number(btfStop - btfStart));
    add('linux-banner', 'open', kernel.symbols.address('linux_banner')!, 256);
    add('page-offset-base', 'open', kernel.symbols.address('page_offset_base')!, 8);

    // Data the commands walk.
    const size = (struct: string) => kernel.types.sizeOf(kernel.types.findStruct(struct)!);
    const { tasks } = listTasks(kernel);
    const pointers: bigint[] = [];
    const tasksOffset = Number(r.offset('task_struct', 'tasks'));
    for (const task of tasks) {
      add(`task ${task.pid}`, 'data', task.address, size('task_struct'));
      pointers.push(task.address + BigInt(tasksOffset));
      const cred = r.u64(task.address + r.offset('task_struct', 'real_cred'));
      add(`cred of ${task.pid}`, 'data', cred, size('cred'));
    }
    const { modules } = listModules(kernel);
    for (const module of modules) {
      add(`module ${module.name}`, 'data', module.address, size('module'));
      pointers.push(module.address + r.offset('module', 'list'));
    }
    const symbolRegion = (name: string, length: number) => {
      const address = kernel.symbols.address(name);
      if (address !== undefined) add(name, 'data', address, length);
    };
    symbolRegion('sys_call_table', 8 * 460);
    symbolRegion('idt_table', 4096);
    symbolRegion('nr_cpu_ids', 4);
    symbolRegion('__per_cpu_offset', 64);
    symbolRegion('init_pid_ns', size('pid_namespace'));
    symbolRegion('modules', 16);
    const perCpu = r.u64(kernel.symbols.address('__per_cpu_offset')!);
    add('runqueue of cpu 0', 'data', perCpu + kernel.symbols.address('runqueues')!, size('rq'));

    const initTask = kernel.symbols.address('init_task')!;
    const initTaskNode = initTask + BigInt(tasksOffset);
    return {
      path,
      fileSize: segments.reduce((end, s) => Math.max(end, s.fileOffset + s.length), 0),
      regions,
      segments,
      pointers,
      directMapBase: kernel.directMapBase,
      tasksOffset,
      initTaskNode,
      initTaskNextOffset: fileOf(initTaskNode)!,
      zeroPages: findZeroPages(path, segments, 64),
      notes,
      programHeaders: { offset: phoff, entrySize, count },
    };
  } finally {
    snapshot.close();
  }
}

function readAt(path: string, offset: number, length: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const bytes = new Uint8Array(length);
    readSync(fd, bytes, 0, length, offset);
    return bytes;
  } finally {
    closeSync(fd);
  }
}

/** A run of `pages` zero pages in RAM (free memory), searched from the top of the first segment. */
function findZeroPages(
  path: string,
  segments: DumpMap['segments'],
  pages: number,
): DumpMap['zeroPages'] {
  const segment = segments[0]!;
  const fd = openSync(path, 'r');
  try {
    const page = new Uint8Array(4096);
    let run = 0;
    for (let at = segment.length - 4096; at >= 0; at -= 4096) {
      readSync(fd, page, 0, 4096, segment.fileOffset + at);
      run = page.every((byte) => byte === 0) ? run + 1 : 0;
      if (run === pages)
        return { offset: segment.fileOffset + at, physical: segment.physical + BigInt(at), pages };
    }
  } finally {
    closeSync(fd);
  }
  throw new Error(`no run of ${pages} zero pages in ${path}`);
}
