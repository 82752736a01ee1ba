// Stage 1 and stage 2 composed (Arm ARM D8.1): a guest's virtual address through the guest's tables to
// an IPA, then through the hypervisor's tables to a physical address. Every stage-1 table fetch is
// itself an IPA that stage 2 translates; a fault there is a stage-2 fault on the stage-1 walk.
import type { TranslationFault } from '../types.js';
import { translateArm64Stage1, type Arm64Stage1Regime } from './stage1.js';
import { translateArm64Stage2, type Arm64Stage2Regime } from './stage2.js';
import type { Arm64TranslationResult, EntryReader } from './walk.js';

export function translateArm64TwoStage(
  stage1: Arm64Stage1Regime,
  stage2: Arm64Stage2Regime,
  address: bigint,
  readEntry: EntryReader,
): Arm64TranslationResult {
  const resolveTable = (ipa: bigint): { ok: true; physical: bigint } | TranslationFault => {
    const result = translateArm64Stage2(stage2, ipa, readEntry);
    if (!result.ok) return { ...result, stage: 2, ipa, duringStage1Walk: true };
    if (!result.readable) {
      // A table the hypervisor made unreadable: the walk cannot read it (a stage-2 permission fault).
      return {
        ok: false,
        fault: 'unreadable-table',
        level: result.level,
        stage: 2,
        ipa,
        duringStage1Walk: true,
      };
    }
    return { ok: true, physical: result.physical };
  };
  const first = translateArm64Stage1(stage1, address, readEntry, resolveTable);
  if (!first.ok) return first;
  const second = translateArm64Stage2(stage2, first.physical, readEntry);
  if (!second.ok) return { ...second, stage: 2, ipa: first.physical };
  const privilegedExecutable = first.privilegedExecutable && second.privilegedExecutable;
  const unprivilegedExecutable = first.unprivilegedExecutable && second.unprivilegedExecutable;
  return {
    ok: true,
    physical: second.physical,
    // The smaller of the two mappings is what a TLB could hold for this address.
    pageSize: Math.min(first.pageSize, second.pageSize),
    level: second.level,
    readable: second.readable,
    writable: first.writable && second.writable,
    user: first.user,
    executable: privilegedExecutable || unprivilegedExecutable,
    privilegedExecutable,
    unprivilegedExecutable,
    accessFlag: first.accessFlag && second.accessFlag,
    descriptor: second.descriptor,
  };
}
