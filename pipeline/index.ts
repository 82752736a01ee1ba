// The pipeline: open any backend, open its kernel, run detectors → rules → sinks live or on a snapshot.
export { openDomain, type DomainSpec, type OpenedDomain, type Recorded } from './open-domain.js';
export { openGuestKernel } from './guest-kernel.js';
export {
  controlStates,
  judgeSnapshot,
  liveEvents,
  liveFindings,
  type JudgeOptions,
  type LiveOptions,
  type ResponseOptions,
  type SnapshotVerdict,
} from './detect.js';
export {
  actionsByRule,
  respond,
  type ActionLogEntry,
  type RespondOptions,
} from './response/respond.js';
export { loadRules, starterRulesDir } from './starter-rules.js';
export type { RebootOptions } from './reboots.js';
