// The public API of Ringside (`import … from 'ringside'`): what a library user needs to open a guest,
// read its Linux kernel, run detectors → rules → sinks, and write detectors and sinks of their own.
// Only what is re-exported here is public; api/ringside.api.md is its checked report.

// Opening a guest, and the pipeline from it to findings.
export {
  controlStates,
  judgeSnapshot,
  liveEvents,
  liveFindings,
  loadRules,
  openDomain,
  openGuestKernel,
  starterRulesDir,
  type DomainSpec,
  type JudgeOptions,
  type LiveOptions,
  type OpenedDomain,
  type RebootOptions,
  type Recorded,
  type SnapshotVerdict,
} from '../pipeline/index.js';
export {
  isDetectorPlugin,
  isSink,
  loadPluginModules,
  loadSinkModule,
  type SinkModuleContext,
  type SinkModuleFactory,
} from '../pipeline/user-modules.js';
export { createConfiguredSinks, type ConfiguredSinksSetup } from '../pipeline/configured-sinks.js';

// The guest as every backend shows it.
export type {
  Capture,
  ControlRegister,
  Domain,
  DomainCapabilities,
  HookContext,
  HookSpec,
} from '../introspect/domain/types.js';
export type { VcpuState } from '../introspect/domain/vcpu.js';
export type { QmpClient } from '../introspect/backends/qemu/qmp.js';
export type { PhysAddr, VirtAddr } from '../introspect/memory/address.js';
export type { Translator } from '../introspect/memory/paged-address-space.js';
export type {
  AddressSpace,
  PhysicalMemory,
  PhysicalRange,
  Translation,
  TranslationFault,
  TranslationResult,
  PageFault,
} from '../introspect/memory/types.js';
export {
  GuestStructureError,
  InputError,
  isRingsideError,
  MemoryError,
  RingsideError,
  type ErrorCode,
} from '../introspect/errors.js';

// Architecture descriptors.
export {
  AARCH64,
  ARCHITECTURE_NAMES,
  ARCHITECTURES,
  architecture,
  argument,
  instructionPointer,
  isArchitectureName,
  returnValue,
  X86_64,
  type Architecture,
  type ArchitectureName,
  type CurrentTaskLocation,
} from '../introspect/arch/index.js';

// Linux inside the guest.
export {
  openLinuxKernel,
  type LinuxKernel,
  type OpenKernelOptions,
} from '../introspect/os/linux/linux-kernel.js';
export type {
  FieldLocation,
  KernelSymbol,
  MemberInfo,
  SymbolTable,
  TypeId,
  TypeInfo,
  TypeTable,
} from '../introspect/os/linux/profile/types.js';
export type {
  Arm64KernelImage,
  KernelImage,
  X86KernelImage,
} from '../introspect/os/linux/kernel-image.js';
export type { WalkProblem } from '../introspect/os/linux/list-walk.js';
export type { TaskViewName } from '../introspect/os/linux/task-views.js';
export { openLiveKernel } from '../introspect/os/linux/live-kernel.js';
export { KernelReader, StructCopy } from '../introspect/os/linux/kernel-reader.js';
export { listTasks, readTask, type TaskInfo, type TaskList } from '../introspect/os/linux/tasks.js';
export {
  listModules,
  readModule,
  type ModuleInfo,
  type ModuleList,
} from '../introspect/os/linux/modules.js';
export { readSyscallTable, type SyscallEntry } from '../introspect/os/linux/syscalls.js';
export {
  crossView,
  type CrossView,
  type CrossViewOptions,
  type CrossViewTask,
  type ViewSummary,
} from '../introspect/os/linux/cross-view.js';
export {
  currentTaskLocator,
  type CurrentTaskLocator,
} from '../introspect/os/linux/current-task.js';
export type { CpuControlState } from '../introspect/os/linux/integrity.js';

// Events and findings.
export {
  lifecycleEvent,
  RAW_EVENT_TYPES,
  SEMANTIC_EVENT_TYPES,
  type EventType,
  type LifecycleFields,
  type MemoryAccess,
  type ModuleFields,
  type NetworkFields,
  type ProcessFields,
  type RawEventType,
  type SemanticEventType,
  type UserFields,
  type VmiEvent,
  type VmiFields,
} from '../introspect/events/event.js';
export {
  findingId,
  SEVERITIES,
  type AttackTechnique,
  type Finding,
  type Severity,
} from '../introspect/events/finding.js';
export { decodeTrace, encodeTrace } from '../introspect/events/trace.js';

// Detectors, and what a detector author needs at a hook.
export {
  chooseDetectors,
  DETECTOR_NAMES,
  DETECTORS,
  judgeWithDetectors,
  runnableDetectors,
  startDetectors,
  type DetectorName,
  type JudgeOutcome,
  type SnapshotJudgement,
} from '../plugins/index.js';
export type {
  DetectorPlugin,
  PluginContext,
  PluginMeta,
  SnapshotContext,
} from '../plugins/types.js';
export {
  capturedTask,
  currentTaskCaptures,
  currentTaskOf,
  envelope,
  hookEvents,
  hookTask,
  periodicEvents,
  processFields,
  readConfirmed,
  unreadable,
  userFields,
  type CapturedTask,
} from '../plugins/guest-context.js';

// Rules.
export {
  detect,
  Detector,
  loadRuleFiles,
  loadRulePaths,
  RuleEngine,
  type Checked,
  type CheckedCompare,
  type CorrelationStats,
  type DetectOptions,
  type DiagnosticCode,
  type LoadedCorrelation,
  type Location,
  type OutputPart,
  type DetectorOptions,
  type DetectorStats,
  type Diagnostic,
  type EngineStats,
  type LoadedRule,
  type LoadResult,
  type NotLoaded,
  type Matcher,
  type RuleFile,
  type Ruleset,
} from '../rules/index.js';

// Sinks.
export type {
  Destination,
  DeliveryOutcome,
  EncodedFinding,
  Sink,
  SinkHealth,
  SinkMetrics,
} from '../sinks/types.js';
export { createStdoutSink, type StdoutSinkOptions } from '../sinks/stdout/sink.js';
export { createFileSink, type FileSinkOptions } from '../sinks/file/sink.js';
export { createFanout, type Fanout } from '../sinks/delivery/fanout.js';
export {
  createQueuedSink,
  type QueuedSink,
  type QueuedSinkOptions,
} from '../sinks/delivery/queued-sink.js';
export type { QueueOptions, WhenFull } from '../sinks/queue/queue.js';
export type { Predicate } from '../rules/compile.js';
export type { Redactor } from '../sinks/redact.js';
export type { BackoffOptions } from '../sinks/delivery/backoff.js';
export { DOCUMENT_FORMATS, type DocumentFormat } from '../sinks/format.js';
export { toEcs, type EcsDocument, type Observer } from '../sinks/ecs/document.js';
export { silentLog, stderrLog, type SinkLog } from '../sinks/log.js';
export type { SinkConfigEntry, SinksSetup } from '../sinks/config.js';

// Fleet mode (docs/fleet.md): an agent per host publishing to NATS JetStream, rule workers partitioned by guest.
export {
  Agent,
  type AgentOptions,
  readAgentConfig,
  parseAgentConfig,
  type AgentConfig,
  type AgentConfigFile,
  type ConfiguredGuest,
  agentConfigSchema,
  type GuestState,
  AgentMetrics,
  type GuestCandidate,
  type GuestSource,
  configuredGuests,
  qemuProcessGuests,
  JetStreamOutbox,
  type OutboxMetrics,
  type OutboxOptions,
  RuleWorker,
  type RuleWorkerOptions,
  type RuleWorkerStats,
  warmupFor,
  DEFAULT_STREAM_LIMITS,
  type StreamLimits,
  DEFAULT_PARTITIONS,
  partitionMapping,
  planOwnership,
  type OwnershipInput,
  watchEvents,
  type WatchOptions,
  idsInFileSinks,
  eventSubject,
  findingSubject,
  eventId,
  eventMessage,
  outgoingEvent,
  unpackEvents,
  type OutgoingEvent,
  type FleetMessage,
  subjectToken,
  EVENTS_STREAM,
  FINDINGS_STREAM,
} from '../pipeline/fleet/index.js';
