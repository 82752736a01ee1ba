// AArch64 stage-2 translation (IPA → PA), as a hypervisor configures it for a guest in VTCR_EL2 and
// VTTBR_EL2: its own granule, a start level from SL0 (not from the size), concatenated start tables.
import { InputError } from '../../errors.js';
import { GRANULE_16K, GRANULE_4K, GRANULE_64K, levelShift, type Granule } from './granule.js';
import { PHYSICAL_ADDRESS_BITS, tableBaseFromTtbr } from './stage1.js';
import {
  walkArm64,
  type Arm64TranslationResult,
  type EntryReader,
  type WalkParameters,
} from './walk.js';

export interface Arm64Stage2Regime extends WalkParameters {
  /** How many start-level tables are concatenated (1 to 16). */
  readonly concatenatedTables: number;
}

export interface Arm64Stage2Registers {
  vtcr: bigint;
  vttbr: bigint;
}

const field = (value: bigint, low: number, width: number): number =>
  Number((value >> BigInt(low)) & ((1n << BigInt(width)) - 1n));

/** SL0 (with SL2 for 4K) → start level, per granule (Arm ARM D19.2.181); undefined when reserved. */
export function stage2StartLevel(granule: Granule, sl0: number, sl2: boolean): number | undefined {
  if (granule.size === 4096) {
    if (sl2) return sl0 === 0 ? -1 : undefined;
    return [2, 1, 0, 3][sl0];
  }
  if (granule.size === 16384) return [3, 2, 1, 0][sl0];
  return [3, 2, 1][sl0];
}

export function decodeStage2(registers: Arm64Stage2Registers): Arm64Stage2Regime {
  const { vtcr } = registers;
  const input = `VTCR_EL2=0x${vtcr.toString(16)}`;
  const tg0 = field(vtcr, 14, 2);
  const granule = [GRANULE_4K, GRANULE_64K, GRANULE_16K][tg0];
  if (!granule) throw new InputError(`TG0=${tg0} is reserved`, input);
  const ps = field(vtcr, 16, 3);
  const physicalBits = PHYSICAL_ADDRESS_BITS[ps];
  if (physicalBits === undefined) throw new InputError(`PS=${ps} is reserved`, input);
  const ds = field(vtcr, 32, 1) === 1 && granule.size !== 65536;
  const sl0 = field(vtcr, 6, 2);
  const sl2 = field(vtcr, 33, 1) === 1 && ds;
  const startLevel = stage2StartLevel(granule, sl0, sl2);
  if (startLevel === undefined || (startLevel === 0 && granule.size === 16384 && !ds)) {
    throw new InputError(`SL0=${sl0}${sl2 ? ' with SL2' : ''} is reserved for this granule`, input);
  }
  const inputBits = 64 - field(vtcr, 0, 6);
  const outputBits = Math.min(physicalBits, granule.size === 65536 || ds ? 52 : 48);
  const widest = granule.size === 65536 || ds ? 52 : 48;
  const topBits = inputBits - levelShift(granule, startLevel);
  // The start level resolves at most 4 bits more than one table: up to 16 tables concatenated.
  if (inputBits > widest || topBits < 1 || topBits > granule.stride + 4) {
    throw new InputError(
      `a ${inputBits}-bit IPA (T0SZ=${64 - inputBits}) cannot start at level ${startLevel} with a ${granule.size / 1024} KiB granule`,
      input,
    );
  }
  const concatenatedTables = topBits > granule.stride ? 1 << (topBits - granule.stride) : 1;
  return {
    granule,
    startLevel,
    inputBits,
    tableBase: tableBaseFromTtbr(registers.vttbr, outputBits, 1n << BigInt(topBits + 3)),
    outputBits,
    ds,
    stage: 2,
    hierarchical: false,
    concatenatedTables,
  };
}

export function translateArm64Stage2(
  regime: Arm64Stage2Regime,
  ipa: bigint,
  readEntry: EntryReader,
): Arm64TranslationResult {
  return walkArm64(regime, ipa, readEntry);
}
