// The one AArch64 table walker (VMSAv8-64, Arm ARM D8): a pure function over an entry reader that runs
// any granule from any start level, for stage 1 and stage 2. At most five levels, so it always ends.
import type { Translation, TranslationFault } from '../types.js';
import { levelShift, type Granule } from './granule.js';

/** Reads the 64-bit descriptor at a physical address; undefined when that memory cannot be read. */
export type EntryReader = (physical: bigint) => bigint | undefined;

/**
 * Turns the address of a table entry into a physical address before it is read: the identity for a
 * single stage, stage 2 for the table fetches of a stage-1 walk under a hypervisor.
 */
export type TableAddressResolver = (
  address: bigint,
) => { ok: true; physical: bigint } | TranslationFault;

export interface WalkParameters {
  readonly granule: Granule;
  readonly startLevel: number;
  /** Width of the input address (VA or IPA) that the tables resolve. */
  readonly inputBits: number;
  /** Address of the start-level table (several concatenated ones at stage 2). */
  readonly tableBase: bigint;
  /** Width of output addresses: wider table or output addresses are address-size faults. */
  readonly outputBits: number;
  /** FEAT_LPA2 descriptor format (TCR.DS / VTCR.DS = 1): output address bits 51:50 in bits 9:8. */
  readonly ds: boolean;
  readonly stage: 1 | 2;
  /** Stage 1: APTable, UXNTable and PXNTable of table descriptors apply (TCR.HPDn = 0). */
  readonly hierarchical: boolean;
}

export interface Arm64Translation extends Translation {
  /** Level of the leaf descriptor: 3 for a page, lower for a block. */
  level: number;
  /** Stage 2 can forbid reads (S2AP[0]); stage 1 always allows them at EL1. */
  readable: boolean;
  /** Executable at EL1 (the kernel): PXN clear, and not writable at EL0. */
  privilegedExecutable: boolean;
  /** Executable at EL0 (user space): accessible at EL0 and UXN clear. */
  unprivilegedExecutable: boolean;
  /** AF: clear means the first access faults so that the OS can track use; the mapping is valid. */
  accessFlag: boolean;
  /** The leaf descriptor as read (memory attributes, nG, contiguous hint, software bits). */
  descriptor: bigint;
}

export type Arm64TranslationResult = Arm64Translation | TranslationFault;

const VALID = 1n;
const TABLE_OR_PAGE = 2n;
const AP_EL0 = 1n << 6n; // AP[1]; stage 2: S2AP[0] read
const AP_READ_ONLY = 1n << 7n; // AP[2]; stage 2: S2AP[1] write
const ACCESS_FLAG = 1n << 10n;
const PXN = 1n << 53n; // stage 2 (FEAT_XNX): XN[0]
const UXN = 1n << 54n; // stage 2: XN[1]
const PXN_TABLE = 1n << 59n;
const UXN_TABLE = 1n << 60n;
const AP_TABLE_NO_EL0 = 1n << 61n;
const AP_TABLE_READ_ONLY = 1n << 62n;

export const bitsBetween = (high: number, low: number): bigint =>
  ((1n << BigInt(high + 1)) - 1n) & ~((1n << BigInt(low)) - 1n);

/**
 * The output address in a table, block or page descriptor: bits 47:pageShift, plus bits 51:48 from
 * descriptor bits 15:12 (64 KiB granule with 52-bit output), or bits 49:48 in place and 51:50 from
 * bits 9:8 (FEAT_LPA2).
 */
export function descriptorAddress(
  descriptor: bigint,
  granule: Granule,
  ds: boolean,
  outputBits: number,
): bigint {
  if (ds) {
    return (descriptor & bitsBetween(49, granule.pageShift)) | (((descriptor >> 8n) & 0x3n) << 50n);
  }
  const low = descriptor & bitsBetween(47, granule.pageShift);
  if (granule.pageShift === 16 && outputBits === 52)
    return low | (((descriptor >> 12n) & 0xfn) << 48n);
  return low;
}

export function walkArm64(
  parameters: WalkParameters,
  input: bigint,
  readEntry: EntryReader,
  resolveTableAddress?: TableAddressResolver,
): Arm64TranslationResult {
  const { granule, startLevel, inputBits, outputBits, ds, stage } = parameters;
  const firstShift = levelShift(granule, startLevel);
  const topBits = inputBits - firstShift;
  if (startLevel < -1 || startLevel > 3 || topBits < 1 || topBits > granule.stride + 4) {
    throw new RangeError(
      `AArch64 walk: ${inputBits}-bit input cannot start at level ${startLevel} with a ${granule.size}-byte granule`,
    );
  }
  if (input < 0n || input >> BigInt(inputBits) !== 0n) {
    return { ok: false, fault: 'outside-va-range', level: startLevel, stage };
  }
  const outputLimit = 1n << BigInt(outputBits);
  const blockLevels = ds || outputBits === 52 ? granule.blockLevels52 : granule.blockLevels;
  let table = parameters.tableBase;
  let user = true;
  let writable = true;
  let privilegedNever = false;
  let unprivilegedNever = false;
  for (let level = startLevel; level <= 3; level++) {
    const shift = levelShift(granule, level);
    const indexBits = level === startLevel ? topBits : granule.stride;
    const index = (input >> BigInt(shift)) & ((1n << BigInt(indexBits)) - 1n);
    let entryAddress = table + index * 8n;
    if (resolveTableAddress) {
      const resolved = resolveTableAddress(entryAddress);
      if (!resolved.ok) return resolved;
      entryAddress = resolved.physical;
    }
    const entry = readEntry(entryAddress);
    if (entry === undefined)
      return { ok: false, fault: 'unreadable-table', level, entryAddress, stage };
    const fault = (kind: TranslationFault['fault']): TranslationFault => ({
      ok: false,
      fault: kind,
      level,
      entryAddress,
      entry,
      stage,
    });
    if ((entry & VALID) === 0n) return fault('not-present');
    const isTable = level < 3 && (entry & TABLE_OR_PAGE) !== 0n;
    if (isTable) {
      const next = descriptorAddress(entry, granule, ds, outputBits);
      if (next >= outputLimit) return fault('address-size');
      if (stage === 1 && parameters.hierarchical) {
        user &&= (entry & AP_TABLE_NO_EL0) === 0n;
        writable &&= (entry & AP_TABLE_READ_ONLY) === 0n;
        privilegedNever ||= (entry & PXN_TABLE) !== 0n;
        unprivilegedNever ||= (entry & UXN_TABLE) !== 0n;
      }
      table = next;
      continue;
    }
    // A page at level 3 has bits 1:0 = 11; 01 there is reserved, as is a block where none is allowed:
    // the architecture raises a translation fault for both.
    if (level === 3 ? (entry & TABLE_OR_PAGE) === 0n : !blockLevels.has(level)) {
      return fault('reserved-bits');
    }
    const pageSize = 1n << BigInt(shift);
    // Output-address bits below the block size are RES0: ignored here, as hardware may ignore them.
    const frame = descriptorAddress(entry, granule, ds, outputBits) & ~(pageSize - 1n);
    if (frame >= outputLimit) return fault('address-size');
    const accessFlag = (entry & ACCESS_FLAG) !== 0n;
    const base = { ok: true as const, physical: frame | (input & (pageSize - 1n)) };
    if (stage === 2) {
      const xn = (entry >> 53n) & 0x3n; // XN[1:0]: 00 both, 01 EL0 only, 10 neither, 11 EL1 only
      const privilegedExecutable = xn === 0n || xn === 3n;
      const unprivilegedExecutable = xn === 0n || xn === 1n;
      return {
        ...base,
        pageSize: Number(pageSize),
        level,
        readable: (entry & AP_EL0) !== 0n,
        writable: (entry & AP_READ_ONLY) !== 0n,
        user: true,
        executable: privilegedExecutable || unprivilegedExecutable,
        privilegedExecutable,
        unprivilegedExecutable,
        accessFlag,
        descriptor: entry,
      };
    }
    user &&= (entry & AP_EL0) !== 0n;
    writable &&= (entry & AP_READ_ONLY) === 0n;
    privilegedNever ||= (entry & PXN) !== 0n;
    unprivilegedNever ||= (entry & UXN) !== 0n;
    // Memory writable at EL0 is never executable at EL1 (Arm ARM D8.4.1.2).
    const privilegedExecutable = !privilegedNever && !(user && writable);
    const unprivilegedExecutable = user && !unprivilegedNever;
    return {
      ...base,
      pageSize: Number(pageSize),
      level,
      readable: true,
      writable,
      user,
      executable: privilegedExecutable || unprivilegedExecutable,
      privilegedExecutable,
      unprivilegedExecutable,
      accessFlag,
      descriptor: entry,
    };
  }
  // Unreachable: level 3 always ends the walk.
  return { ok: false, fault: 'not-present', level: 3, stage };
}
