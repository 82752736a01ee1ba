// Where a QEMU guest's RAM lives in the QEMU process: each guest-physical range that is RAM or ROM,
// and the host virtual address of its first byte. From the monitor (`info ramblock` + `info mtree -f`)
// when there is one, else from the machine type's known layout and /proc/PID/maps.
import { InputError } from '../../errors.js';

/** One guest-physical range backed by host memory in the QEMU process. */
export interface RamMapping {
  start: bigint;
  /** Exclusive. */
  end: bigint;
  /** Host virtual address (in QEMU) of the byte at `start`. */
  host: bigint;
  /** QEMU's RAM block name (pc.ram, a memory-backend id, mach-virt.ram …). */
  block: string;
}

export interface RamBlock {
  name: string;
  used: bigint;
  host: bigint;
}

/** Bounds on monitor text: it comes from another process, and a hostile one is not excluded. */
const MAX_LINES = 100_000;

const lines = (text: string): string[] => text.split('\n', MAX_LINES);

/** Parses HMP `info ramblock` (QEMU ≥ 6: Block Name, PSize, Offset, Used, Total, HVA, RO). */
export function parseRamblocks(text: string): RamBlock[] {
  const blocks: RamBlock[] = [];
  const all = lines(text);
  const header = all.find((line) => /Block Name/.test(line));
  if (!header || !/\bHVA\b/.test(header))
    throw new InputError('no HVA column (QEMU older than 6.0?)', 'info ramblock');
  for (const line of all) {
    const match =
      /^\s*(\S+)\s+\d+\s+\S+\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)/i.exec(
        line,
      );
    if (!match) continue;
    blocks.push({ name: match[1]!, used: BigInt(`0x${match[3]}`), host: BigInt(`0x${match[5]}`) });
  }
  return blocks;
}

export interface FlatRange {
  start: bigint;
  end: bigint;
  kind: string;
  region: string;
  /** Offset into the region (the `@…` suffix). */
  offset: bigint;
}

/**
 * Parses HMP `info mtree -f`: the ranges of the flat view that the address space "memory" uses (the
 * guest-physical view every vCPU sees outside SMM).
 */
export function parseFlatView(text: string): FlatRange[] {
  const ranges: FlatRange[] = [];
  let inMemory = false;
  for (const line of lines(text)) {
    if (/^FlatView #/.test(line)) {
      if (inMemory) break;
      continue;
    }
    if (/^\s*AS "memory"/.test(line)) {
      inMemory = true;
      continue;
    }
    if (!inMemory) continue;
    const match =
      /^\s*([0-9a-f]+)-([0-9a-f]+) \(prio -?\d+, ([a-z]+)\): (\S+)(?: @([0-9a-f]+))?/i.exec(line);
    if (!match) continue;
    ranges.push({
      start: BigInt(`0x${match[1]}`),
      end: BigInt(`0x${match[2]}`) + 1n,
      kind: match[3]!,
      region: match[4]!,
      offset: match[5] ? BigInt(`0x${match[5]}`) : 0n,
    });
  }
  return ranges;
}

/** Joins the flat view with the RAM blocks: every RAM/ROM range whose region is a block in host memory. */
export function layoutFromMonitor(ramblock: string, mtree: string): RamMapping[] {
  const blocks = new Map(parseRamblocks(ramblock).map((block) => [block.name, block]));
  const mappings: RamMapping[] = [];
  for (const range of parseFlatView(mtree)) {
    if (range.kind !== 'ram' && range.kind !== 'rom' && range.kind !== 'romd') continue;
    // A memory-backend's block is named by its id; its region may be shown as the QOM path.
    const block = blocks.get(range.region) ?? blocks.get(range.region.replace(/^\/objects\//, ''));
    if (!block) continue;
    if (range.offset + (range.end - range.start) > block.used) continue; // inconsistent: skip
    const last = mappings.at(-1);
    const host = block.host + range.offset;
    // Merge neighbours QEMU splits only for ROM shadowing (same block, contiguous on both sides).
    if (
      last &&
      last.block === block.name &&
      last.end === range.start &&
      last.host + (last.end - last.start) === host
    )
      last.end = range.end;
    else mappings.push({ start: range.start, end: range.end, host, block: block.name });
  }
  if (mappings.length === 0)
    throw new InputError(
      'no RAM found in the flat view of address space "memory"',
      'info mtree -f',
    );
  return mappings.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
}

const FOUR_GIB = 4n << 30n;

/**
 * RAM below 4 GiB per machine type (QEMU's hw/i386/pc_q35.c and pc_piix.c): q35 keeps up to 2.75 GiB
 * low, else 2 GiB; i440fx ("pc") up to 3.5 GiB, else 3 GiB. ARM virt: one block at 0x4000_0000.
 */
export function knownLayout(machine: string, ramBytes: bigint, host: bigint): RamMapping[] {
  if (/^virt/.test(machine)) {
    const base = 0x4000_0000n;
    return [{ start: base, end: base + ramBytes, host, block: 'mach-virt.ram' }];
  }
  let low: bigint;
  if (/^(pc-)?q35/.test(machine)) low = ramBytes >= 0xb000_0000n ? 0x8000_0000n : ramBytes;
  else if (/^pc($|-i440fx|-\d)/.test(machine))
    low = ramBytes >= 0xe000_0000n ? 0xc000_0000n : ramBytes;
  else throw new InputError(`no known RAM layout for machine ${machine}: give --qmp`, 'machine');
  const mappings: RamMapping[] = [{ start: 0n, end: low, host, block: 'pc.ram' }];
  if (ramBytes > low)
    mappings.push({
      start: FOUR_GIB,
      end: FOUR_GIB + (ramBytes - low),
      host: host + low,
      block: 'pc.ram',
    });
  return mappings;
}
