// The C structures of LibVMI's API as koffi types (x86-64, LP64), with the constants that go with
// them. Their sizes and offsets are checked against the C compiler's in layouts.test.ts. The types
// are anonymous: koffi's type names are process-wide, and this module may be evaluated more than
// once in one process (test runners reset modules, not native add-ons).
import koffi, { type TypeObject } from 'koffi';

/** vmi_event_t.version must equal the library's VMI_EVENTS_VERSION (events.h). */
export const VMI_EVENTS_VERSION = 9;
export const ACCESS_CONTEXT_VERSION = 1;
/** translation_mechanism_t of access_context_t. */
export const TranslationMechanism = {
  none: 0,
  processDtb: 1,
  processPid: 2,
  kernelSymbol: 3,
} as const;

export const VMI_SUCCESS = 0;
export const VMI_FAILURE = 1;

export const VmiMode = { xen: 0, kvm: 1, file: 2, bareflank: 3 } as const;
export type VmiModeName = keyof typeof VmiMode;

export const VmiConfig = {
  globalFileEntry: 0,
  string: 1,
  ghashtable: 2,
  jsonPath: 3,
  filePath: 4,
} as const;

export const VmiInit = {
  domainName: 1n << 0n,
  domainId: 1n << 1n,
  events: 1n << 2n,
  domainUuid: 1n << 3n,
} as const;

export const INIT_ERRORS = [
  'none',
  'the hypervisor could not be detected',
  'the hypervisor driver failed to initialise',
  'the VM was not found',
  'paging could not be determined',
  'the OS could not be initialised from the profile',
  'events could not be initialised',
  'no configuration was found',
  'the configuration has no entry for this VM',
] as const;

export const OS_TYPES = ['unknown', 'linux', 'windows', 'freebsd', 'osx'] as const;
export type OsType = (typeof OS_TYPES)[number];

export const PAGE_MODES = [
  'none',
  'unknown',
  'legacy',
  'pae',
  'ia32e',
  'aarch32',
  'aarch64',
  'ept-4l',
  'ept-5l',
] as const;
export type PageMode = (typeof PAGE_MODES)[number];

export const EventType = {
  memory: 1,
  register: 2,
  singlestep: 3,
  interrupt: 4,
} as const;

export const MemAccess = { n: 1, r: 2, w: 4, x: 8 } as const;
export const RegAccess = { n: 1, r: 2, w: 4 } as const;
export const INT3 = 1;

export const EventResponse = {
  none: 0,
  emulate: 1 << 1,
  toggleSinglestep: 1 << 5,
  slatId: 1 << 6,
} as const;

/** Register numbers of libvmi.h (reg_t) for the registers a hook names. */
export const Register = {
  cr0: 18,
  cr3: 20,
  cr4: 21,
  msrAll: 76,
  msrAny: 153,
} as const;

const u8 = 'uint8_t';
const u16 = 'uint16_t';
const u32 = 'uint32_t';
const u64 = 'uint64_t';

/** x86_registers_t: 71 eight-byte fields in header order (the *_arbytes unions are 8 bytes). */
export const X86_REGISTER_NAMES = [
  'rax',
  'rcx',
  'rdx',
  'rbx',
  'rsp',
  'rbp',
  'rsi',
  'rdi',
  'r8',
  'r9',
  'r10',
  'r11',
  'r12',
  'r13',
  'r14',
  'r15',
  'rflags',
  'dr6',
  'dr7',
  'rip',
  'cr0',
  'cr2',
  'cr3',
  'cr4',
  'sysenter_cs',
  'sysenter_esp',
  'sysenter_eip',
  'msr_efer',
  'msr_star',
  'msr_lstar',
  'msr_pat',
  'msr_cstar',
  'fs_base',
  'fs_limit',
  'fs_sel',
  'fs_arbytes',
  'gs_base',
  'gs_limit',
  'gs_sel',
  'gs_arbytes',
  'cs_base',
  'cs_limit',
  'cs_sel',
  'cs_arbytes',
  'ss_base',
  'ss_limit',
  'ss_sel',
  'ss_arbytes',
  'ds_base',
  'ds_limit',
  'ds_sel',
  'ds_arbytes',
  'es_base',
  'es_limit',
  'es_sel',
  'es_arbytes',
  'tr_base',
  'tr_limit',
  'tr_sel',
  'tr_arbytes',
  'ldt_base',
  'ldt_limit',
  'ldt_sel',
  'ldt_arbytes',
  'shadow_gs',
  'idtr_base',
  'idtr_limit',
  'gdtr_base',
  'gdtr_limit',
  'npt_base',
  'vmtrace_pos',
] as const;

export const X86Registers = koffi.struct(
  Object.fromEntries(X86_REGISTER_NAMES.map((name) => [name, u64])),
);

/** access_context_t, its unions flattened: `addr` doubles as `ksym`, `pt` as `dtb` and `pid`. */
export const AccessContext = koffi.struct({
  version: u32,
  _pad: u32,
  pm: u32,
  npm: u32,
  npt: u64,
  tm: u32,
  _pad2: u32,
  addr: u64,
  pt: u64,
});

export const RegEvent = koffi.struct({
  reg: u64,
  equal: u64,
  async: u8,
  onchange: u8,
  in_access: u8,
  out_access: u8,
  _pad1: u32,
  value: u64,
  previous: u64,
  msr: u32,
  _pad2: u32,
});

export const MemAccessEvent = koffi.struct({
  gfn: u64,
  generic: u8,
  in_access: u8,
  out_access: u8,
  gptw: u8,
  gla_valid: u8,
  _pad: koffi.array(u8, 3),
  gla: u64,
  offset: u64,
});

export const InterruptEvent = koffi.struct({
  intr: u8,
  _pad1: koffi.array(u8, 7),
  u: koffi.union({
    int3: koffi.struct({
      insn_length: u32,
      reinject: 'int8_t',
      _pad2: koffi.array(u8, 3),
      gla: u64,
      gfn: u64,
      offset: u64,
      _pad3: u16,
    }),
    next: koffi.struct({
      vector: u32,
      type: u32,
      error_code: u32,
      _pad4: u32,
      cr2: u64,
    }),
  }),
});

export const SingleStepEvent = koffi.struct({
  vcpus: u32,
  enable: u8,
  _pad: koffi.array(u8, 3),
  gla: u64,
  gfn: u64,
  offset: u64,
});

export const DebugEvent = koffi.struct({
  gla: u64,
  gfn: u64,
  offset: u64,
  insn_length: u32,
  type: u8,
  reinject: 'int8_t',
  _pad: u16,
});

/** event_response_t (*event_callback_t)(vmi_instance_t, vmi_event_t *). */
export const EventCallback = koffi.proto(u32, ['void *', 'void *']);

export const VmiEventStruct = koffi.struct({
  version: u32,
  type: u16,
  slat_id: u16,
  next_slat_id: u16,
  _reserved: koffi.array(u16, 3),
  data: 'void *',
  callback: koffi.pointer(EventCallback),
  vcpu_id: u32,
  page_mode: u32,
  u: koffi.union({
    reg_event: RegEvent,
    mem_event: MemAccessEvent,
    ss_event: SingleStepEvent,
    interrupt_event: InterruptEvent,
    debug_event: DebugEvent,
  }),
  x86_regs: 'void *',
});

/** Offset of a member of the event union, from the start of vmi_event_t. */
export const eventOffset = (type: TypeObject, member: string): number =>
  koffi.offsetof(VmiEventStruct, 'u') + koffi.offsetof(type, member);
