// Fuzz cases as patches to a clean dump: each case is a pure function of (seed, index), so a crash
// or hang found in a long run is replayed from two numbers. Mutations aim at what the commands parse
// and walk (see dump-map.ts) and include the structural attacks a hostile guest would try: forged
// task chains and sleds, overlapping PT_LOADs, floods of vCPU notes, page-table candidates.
import type { DumpMap, Region, RegionClass } from './dump-map.js';
import { seededRandom as random } from '../introspect/test-support/seeded-random.js';

export interface Patch {
  offset: number;
  /** Written over the clean bytes; with `xor`, xored into them. */
  bytes: Uint8Array;
  xor?: boolean;
  /** Copy `bytes.length` clean bytes from this file offset instead (a look-alike structure). */
  copyFrom?: number;
}

export interface FuzzCase {
  seed: number;
  index: number;
  kind: string;
  region: string;
  class: RegionClass;
  patches: Patch[];
}

const u64 = (value: bigint): Uint8Array => {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
  return bytes;
};
const u32 = (value: number): Uint8Array => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value >>> 0, true);
  return bytes;
};
const u16 = (value: number): Uint8Array => {
  const bytes = new Uint8Array(2);
  new DataView(bytes.buffer).setUint16(0, value & 0xffff, true);
  return bytes;
};

const INTERESTING_32 = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 8192, 1 << 20, 1 << 24]; // prettier-ignore
const INTERESTING_64 = [0n, 1n, 0x1000n, 0x1003n, 0xffffffffn, 0x7fffffffffffffffn, 0x8000000000000000n, 0xffffffffffffffffn, 0xffff888000000000n, 0xffffffff80000000n, 0xfffffffffffff000n]; // prettier-ignore

export function makeCase(map: DumpMap, seed: number, index: number): FuzzCase {
  const next = random((seed * 0x9e3779b1) ^ index);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const below = (n: number): number => Math.floor(next() * n);
  const base = { seed, index };
  const roll = next();
  // About one case in eight is a structural attack; the rest mutate bytes of one region.
  if (roll < 0.03) return { ...base, ...taskSled(map, next) };
  if (roll < 0.05) return { ...base, ...overlappingLoads(map, next) };
  if (roll < 0.07) return { ...base, ...noteFlood(map, next) };
  if (roll < 0.09) return { ...base, ...programHeaderField(map, next) };
  if (roll < 0.11) return { ...base, ...pointerSwap(map, next) };
  const region = pick(map.regions.filter((r) => r.length > 0));
  const patches: Patch[] = [];
  const mutations = 1 + below(4);
  let kind = '';
  for (let m = 0; m < mutations; m++) {
    const op = below(5);
    const at = region.offset + below(region.length);
    if (op === 0) {
      const bytes = new Uint8Array(1 + below(8));
      for (let i = 0; i < bytes.length; i++) bytes[i] = below(256);
      patches.push({ offset: at, bytes });
      kind += 'random,';
    } else if (op === 1) {
      patches.push({ offset: at, bytes: Uint8Array.of(1 << below(8)), xor: true });
      kind += 'bitflip,';
    } else if (op === 2) {
      patches.push({ offset: aligned(region, at, 4), bytes: u32(pick(INTERESTING_32)) });
      kind += 'u32,';
    } else if (op === 3) {
      const value =
        next() < 0.5 ? pick(INTERESTING_64) : pick(map.pointers) + BigInt(below(64) - 32);
      patches.push({ offset: aligned(region, at, 8), bytes: u64(value) });
      kind += 'u64,';
    } else {
      const from = pick(map.regions);
      const length = Math.min(8 + below(248), from.length, region.length);
      patches.push({
        offset: region.offset + below(region.length - length + 1),
        bytes: new Uint8Array(length),
        copyFrom: from.offset + below(from.length - length + 1),
      });
      kind += 'copy,';
    }
  }
  return { ...base, kind: kind.slice(0, -1), region: region.name, class: region.class, patches };
}

const aligned = (region: Region, at: number, size: number): number =>
  Math.max(region.offset, Math.min(at - (at % size), region.offset + region.length - size));

type CaseBody = Omit<FuzzCase, 'seed' | 'index'>;

/**
 * A forged chain of look-alike tasks in free memory: nodes `stride` bytes apart, each pointing at the
 * next, the last back to init_task (a consistent list), spliced in after init_task.
 */
export function taskSled(map: DumpMap, next: () => number, stride?: number): CaseBody {
  const step = stride ?? [16, 64, 4096][Math.floor(next() * 3)]!;
  const bytes = map.zeroPages.pages * 4096;
  const nodes = Math.floor(bytes / step);
  const sled = new Uint8Array(bytes);
  const view = new DataView(sled.buffer);
  const virtual = (at: number) => map.directMapBase + map.zeroPages.physical + BigInt(at);
  for (let node = 0; node < nodes; node++) {
    const target = node + 1 < nodes ? virtual((node + 1) * step) : map.initTaskNode;
    view.setBigUint64(node * step, target, true);
    if (step >= 16) view.setBigUint64(node * step + 8, virtual((node - 1) * step), true);
  }
  return {
    kind: `task-sled stride ${step}`,
    region: 'task list',
    class: 'data',
    patches: [
      { offset: map.zeroPages.offset, bytes: sled },
      { offset: map.initTaskNextOffset, bytes: u64(virtual(0)) },
    ],
  };
}

/** Every PT_LOAD rewritten to the same physical range (or the whole file again at other addresses). */
export function overlappingLoads(map: DumpMap, next: () => number): CaseBody {
  const { offset, entrySize, count } = map.programHeaders;
  const patches: Patch[] = [];
  const same = next() < 0.5;
  for (let index = 0; index < count; index++) {
    const entry = offset + index * entrySize;
    patches.push({ offset: entry, bytes: u32(1) }); // PT_LOAD
    patches.push({ offset: entry + 8, bytes: u64(BigInt(map.segments[0]!.fileOffset)) });
    patches.push({ offset: entry + 24, bytes: u64(same ? 0n : BigInt(index) << 28n) });
    patches.push({ offset: entry + 32, bytes: u64(BigInt(map.segments[0]!.length)) });
  }
  return { kind: same ? 'overlapping PT_LOADs' : 'PT_LOADs repeating the file', region: 'program-headers', class: 'open', patches }; // prettier-ignore
}

/** The PT_NOTE pointed at free memory filled with minimal CORE notes: thousands of "vCPUs". */
export function noteFlood(map: DumpMap, next: () => number): CaseBody {
  const length = map.zeroPages.pages * 4096;
  const flood = new Uint8Array(length);
  const view = new DataView(flood.buffer);
  const withRegisters = next() < 0.5;
  const note = withRegisters ? 12 + 8 + 440 : 12 + 8; // QEMU CPU state with cr3, or empty
  for (let at = 0, cpu = 0; at + note <= length; at += note, cpu++) {
    view.setUint32(at, 5, true);
    view.setUint32(at + 4, note - 20, true);
    view.setUint32(at + 8, withRegisters ? 0 : 1, true);
    flood.set(withRegisters ? [0x51, 0x45, 0x4d, 0x55] : [0x43, 0x4f, 0x52, 0x45], at + 12);
    if (withRegisters) {
      view.setUint32(at + 20 + 4, 440, true);
      view.setBigUint64(at + 20 + 392 + 24, BigInt(cpu + 1) << 12n, true); // a distinct CR3 each
    }
  }
  return {
    kind: `note flood (${withRegisters ? 'CR3 each' : 'empty'})`,
    region: 'notes',
    class: 'open',
    patches: [
      { offset: map.zeroPages.offset, bytes: flood },
      { offset: map.notes.header + 8, bytes: u64(BigInt(map.zeroPages.offset)) },
      { offset: map.notes.header + 32, bytes: u64(BigInt(length)) },
    ],
  };
}

/** One field of one program header (or of the ELF header's table description) set to a hostile value. */
export function programHeaderField(map: DumpMap, next: () => number): CaseBody {
  const { offset, entrySize, count } = map.programHeaders;
  const below = (n: number) => Math.floor(next() * n);
  if (next() < 0.3) {
    const field = [
      [54, 2],
      [56, 2],
      [32, 8],
      [18, 2],
      [16, 2],
      [4, 1],
      [5, 1],
    ][below(7)]!;
    const value = [0, 1, 0xffff, 0x38, 0x40, 0x7fff][below(6)]!;
    const bytes =
      field[1] === 8 ? u64(BigInt(value)) : field[1] === 2 ? u16(value) : Uint8Array.of(value);
    return { kind: `ELF header field at ${field[0]}`, region: 'elf-header', class: 'open', patches: [{ offset: field[0]!, bytes }] }; // prettier-ignore
  }
  const entry = offset + below(count) * entrySize;
  const field = [0, 8, 16, 24, 32, 40][below(6)]!;
  const value =
    field === 0
      ? BigInt([1, 4, 0xffffffff][below(3)]!)
      : INTERESTING_64[below(INTERESTING_64.length)]!;
  return { kind: `program header field ${field}`, region: 'program-headers', class: 'open', patches: [{ offset: entry + field, bytes: field === 0 ? u32(Number(value)) : u64(value) }] }; // prettier-ignore
}

/** A list pointer of one task or module aimed at another structure's node (a fake chain). */
export function pointerSwap(map: DumpMap, next: () => number): CaseBody {
  const below = (n: number) => Math.floor(next() * n);
  const tasks = map.regions.filter((region) => region.name.startsWith('task '));
  const patches: Patch[] = [];
  const swaps = 1 + below(8);
  for (let s = 0; s < swaps; s++) {
    const task = tasks[below(tasks.length)]!;
    const at = task.offset + map.tasksOffset + (next() < 0.5 ? 0 : 8);
    patches.push({ offset: at, bytes: u64(map.pointers[below(map.pointers.length)]!) });
  }
  return { kind: 'task list pointers swapped', region: 'task list', class: 'data', patches };
}
