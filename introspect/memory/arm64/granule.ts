// The three AArch64 translation granules as constant descriptions (Arm ARM D8.2): page size, bits
// resolved per level, and the levels at which a block descriptor is allowed. The walker runs on these.

export type GranuleSize = 4096 | 16384 | 65536;

export interface Granule {
  readonly size: GranuleSize;
  /** log2 of the page size: 12, 14 or 16. */
  readonly pageShift: number;
  /** Address bits resolved by one full table: pageShift − 3 (a table is one page of 8-byte entries). */
  readonly stride: number;
  /** Levels where a block descriptor is allowed without FEAT_LPA2 / 52-bit output addresses. */
  readonly blockLevels: ReadonlySet<number>;
  /** Levels where a block is allowed with 52-bit output (TCR.DS = 1 for 4K/16K, FEAT_LPA for 64K). */
  readonly blockLevels52: ReadonlySet<number>;
  /** The shallowest level the granule can start at (−1 only with 4 KiB and TCR.DS = 1). */
  readonly firstLevel: number;
}

export const GRANULE_4K: Granule = {
  size: 4096,
  pageShift: 12,
  stride: 9,
  blockLevels: new Set([1, 2]),
  blockLevels52: new Set([0, 1, 2]),
  firstLevel: -1,
};

export const GRANULE_16K: Granule = {
  size: 16384,
  pageShift: 14,
  stride: 11,
  blockLevels: new Set([2]),
  blockLevels52: new Set([1, 2]),
  firstLevel: 0,
};

export const GRANULE_64K: Granule = {
  size: 65536,
  pageShift: 16,
  stride: 13,
  blockLevels: new Set([2]),
  blockLevels52: new Set([1, 2]),
  firstLevel: 1,
};

/** The lowest address bit a level resolves: level 3 resolves the bits just above the page offset. */
export const levelShift = (granule: Granule, level: number): number =>
  granule.pageShift + (3 - level) * granule.stride;

/** The level a stage-1 walk of an `inputBits`-wide address starts at (Arm ARM D8.2.6). */
export function stage1StartLevel(granule: Granule, inputBits: number): number {
  const levels = Math.ceil((inputBits - granule.pageShift) / granule.stride);
  return 4 - levels;
}
