// AArch64 stage-1 translation of the EL1&0 regime (what a Linux guest's kernel and processes use):
// TCR_EL1 decoded into two halves — TTBR0 below, TTBR1 above — each with its own granule and size.
import { InputError } from '../../errors.js';
import type { TranslationFault } from '../types.js';
import {
  GRANULE_16K,
  GRANULE_4K,
  GRANULE_64K,
  levelShift,
  stage1StartLevel,
  type Granule,
} from './granule.js';
import {
  bitsBetween,
  walkArm64,
  type Arm64TranslationResult,
  type EntryReader,
  type TableAddressResolver,
  type WalkParameters,
} from './walk.js';

export interface Arm64Stage1Half extends WalkParameters {
  /** EPDn = 1: walks of this half are disabled and every address in it faults. */
  readonly disabled: boolean;
  /** TBIn = 1: address bits 63:56 are ignored (tagged addresses). */
  readonly topByteIgnored: boolean;
}

export interface Arm64Stage1Regime {
  /** TTBR0_EL1: addresses whose bit 55 is 0 (user space on Linux). */
  readonly lower: Arm64Stage1Half;
  /** TTBR1_EL1: addresses whose bit 55 is 1 (the kernel on Linux). */
  readonly upper: Arm64Stage1Half;
}

export interface Arm64Stage1Registers {
  tcr: bigint;
  ttbr0: bigint;
  ttbr1: bigint;
}

/** TCR_EL1.IPS / VTCR_EL2.PS → physical address width (Arm ARM D19.2.139). */
export const PHYSICAL_ADDRESS_BITS = [32, 36, 40, 42, 44, 48, 52] as const;

const field = (value: bigint, low: number, width: number): number =>
  Number((value >> BigInt(low)) & ((1n << BigInt(width)) - 1n));

function describe(registers: Arm64Stage1Registers): string {
  return `TCR_EL1=0x${registers.tcr.toString(16)}`;
}

/**
 * Checks an input size against a granule: 52 bits needs FEAT_LPA2 (DS) on 4K/16K, and the start level
 * must exist for the granule. Returns the start level.
 */
export function checkedStartLevel(
  granule: Granule,
  inputBits: number,
  ds: boolean,
  what: string,
  input: string,
): number {
  const widest = granule.size === 65536 || ds ? 52 : 48;
  if (inputBits < 16 || inputBits > widest) {
    throw new InputError(
      `${what} gives a ${inputBits}-bit address range; a ${granule.size / 1024} KiB granule allows 16 to ${widest} bits`,
      input,
    );
  }
  const level = stage1StartLevel(granule, inputBits);
  if (level < granule.firstLevel) {
    throw new InputError(
      `${what}: no level ${level} with a ${granule.size / 1024} KiB granule`,
      input,
    );
  }
  return level;
}

/**
 * The start-level table of a translation table base register: BADDR bits 47:1, with bits 51:48 in
 * bits 5:2 when output addresses are 52 bits wide; aligned down to the table's size (its low bits are
 * RES0, and hardware may treat them as zero).
 */
export function tableBaseFromTtbr(ttbr: bigint, outputBits: number, tableBytes: bigint): bigint {
  const alignment = tableBytes < 64n ? 64n : tableBytes;
  let base = ttbr & bitsBetween(47, 1);
  if (outputBits === 52) base = (ttbr & bitsBetween(47, 6)) | (((ttbr >> 2n) & 0xfn) << 48n);
  return base & ~(alignment - 1n);
}

export function decodeStage1(registers: Arm64Stage1Registers): Arm64Stage1Regime {
  const { tcr } = registers;
  const input = describe(registers);
  const ips = field(tcr, 32, 3);
  const physicalBits = PHYSICAL_ADDRESS_BITS[ips];
  if (physicalBits === undefined) throw new InputError(`IPS=${ips} is reserved`, input);
  const ds = field(tcr, 59, 1) === 1;
  // TG0 and TG1 encode the granules differently (Arm ARM D19.2.139).
  const tg0 = field(tcr, 14, 2);
  const tg1 = field(tcr, 30, 2);
  const granule0 = [GRANULE_4K, GRANULE_64K, GRANULE_16K][tg0];
  const granule1 = [undefined, GRANULE_16K, GRANULE_4K, GRANULE_64K][tg1];
  if (!granule0) throw new InputError(`TG0=${tg0} is reserved`, input);
  if (!granule1) throw new InputError(`TG1=${tg1} is reserved`, input);
  const half = (
    granule: Granule,
    sizeOffset: number,
    ttbr: bigint,
    disabledBit: number,
    tbiBit: number,
    hpdBit: number,
    name: string,
  ): Arm64Stage1Half => {
    const sizeBits = 64 - field(tcr, sizeOffset, 6);
    const disabled = field(tcr, disabledBit, 1) === 1;
    const halfDs = ds && granule.size !== 65536;
    // A disabled half is never walked; its size only has to give a well-formed description.
    const inputBits = disabled ? Math.min(Math.max(sizeBits, 25), 48) : sizeBits;
    const startLevel = disabled
      ? stage1StartLevel(granule, inputBits)
      : checkedStartLevel(granule, inputBits, halfDs, `${name}SZ=${64 - inputBits}`, input);
    // Without DS, 4K and 16K descriptors hold 48 bits of output address; 64K holds 52 (FEAT_LPA).
    const outputBits = Math.min(physicalBits, granule.size === 65536 || halfDs ? 52 : 48);
    const topTableBytes = 1n << BigInt(inputBits - levelShift(granule, startLevel) + 3);
    return {
      granule,
      startLevel,
      inputBits,
      tableBase: tableBaseFromTtbr(ttbr, outputBits, topTableBytes),
      outputBits,
      ds: halfDs,
      stage: 1,
      hierarchical: field(tcr, hpdBit, 1) === 0,
      disabled,
      topByteIgnored: field(tcr, tbiBit, 1) === 1,
    };
  };
  return {
    lower: half(granule0, 0, registers.ttbr0, 7, 37, 41, 'T0'),
    upper: half(granule1, 16, registers.ttbr1, 23, 38, 42, 'T1'),
  };
}

/**
 * Translates a virtual address: bit 55 picks the half; the bits above the half's size must all equal
 * it (up to bit 55 with top-byte-ignore, up to bit 63 without).
 */
export function translateArm64Stage1(
  regime: Arm64Stage1Regime,
  address: bigint,
  readEntry: EntryReader,
  resolveTableAddress?: TableAddressResolver,
): Arm64TranslationResult {
  const upper = ((address >> 55n) & 1n) === 1n;
  const half = upper ? regime.upper : regime.lower;
  const outside: TranslationFault = {
    ok: false,
    fault: 'outside-va-range',
    level: half.startLevel,
    stage: 1,
  };
  if (address < 0n || address >> 64n !== 0n) return outside;
  const checkedTop = half.topByteIgnored ? 56 : 64;
  const tagBits = checkedTop - half.inputBits;
  const tag = (address >> BigInt(half.inputBits)) & ((1n << BigInt(tagBits)) - 1n);
  if (tag !== (upper ? (1n << BigInt(tagBits)) - 1n : 0n)) return outside;
  if (half.disabled) return { ok: false, fault: 'not-present', level: half.startLevel, stage: 1 };
  const input = address & ((1n << BigInt(half.inputBits)) - 1n);
  return walkArm64(half, input, readEntry, resolveTableAddress);
}
