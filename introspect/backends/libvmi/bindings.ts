// libvmi.so loaded through koffi at run time: the C functions the backend calls, typed. Nothing else
// in Ringside loads it; when it is missing, the one error says what to install.
import koffi, { type LibraryHandle } from 'koffi';
import { RingsideError } from '../../errors.js';
import { AccessContext, EventCallback, VMI_EVENTS_VERSION, X86Registers } from './layouts.js';

/**
 * Pointers are bigint in koffi 3; out-parameters are one-element arrays, except the 64-bit ones of
 * the hot paths (reads, translations): a BigUint64Array the caller keeps, passed as a plain pointer,
 * costs a third of koffi's _Out_ marshalling (bench/libvmi.bench.ts: ~100 ns against ~350 ns).
 */
type Ptr = bigint | null;
type Out<T> = [T];
type U64Out = BigUint64Array;
type Status = number;
type Callback<T extends (...args: never[]) => unknown> = T & {
  async: (...args: [...Parameters<T>, (error: unknown, result: ReturnType<T>) => void]) => void;
};

export interface LibvmiFunctions {
  vmi_init(
    vmi: Out<Ptr>,
    mode: number,
    domain: string,
    flags: bigint,
    initData: Ptr,
    error: Out<number>,
  ): Status;
  vmi_init_os(vmi: Ptr, configMode: number, config: string, error: Out<number>): number;
  vmi_destroy(vmi: Ptr): Status;
  vmi_get_memsize(vmi: Ptr): bigint;
  vmi_get_max_physical_address(vmi: Ptr): bigint;
  vmi_get_num_vcpus(vmi: Ptr): number;
  vmi_get_page_mode(vmi: Ptr, vcpu: number): number;
  vmi_get_ostype(vmi: Ptr): number;
  vmi_get_offset(vmi: Ptr, name: string, offset: U64Out): Status;
  vmi_get_kernel_struct_offset(vmi: Ptr, struct: string, member: string, offset: U64Out): Status;
  vmi_read_pa(vmi: Ptr, address: bigint, count: number, buffer: Uint8Array, read: U64Out): Status;
  vmi_read_va(
    vmi: Ptr,
    address: bigint,
    pid: number,
    count: number,
    buffer: Uint8Array,
    read: U64Out,
  ): Status;
  vmi_read_ksym(vmi: Ptr, symbol: string, count: number, buffer: Uint8Array, read: U64Out): Status;
  vmi_read(vmi: Ptr, context: object, count: number, buffer: Uint8Array, read: U64Out): Status;
  vmi_read_64_pa(vmi: Ptr, address: bigint, value: U64Out): Status;
  /** Returns a malloc'd C string the caller frees. */
  vmi_read_str_va(vmi: Ptr, address: bigint, pid: number): Ptr;
  vmi_write_pa(
    vmi: Ptr,
    address: bigint,
    count: number,
    buffer: Uint8Array,
    written: U64Out,
  ): Status;
  vmi_write_va(
    vmi: Ptr,
    address: bigint,
    pid: number,
    count: number,
    buffer: Uint8Array,
    written: U64Out,
  ): Status;
  vmi_translate_kv2p(vmi: Ptr, address: bigint, physical: U64Out): Status;
  vmi_translate_uv2p(vmi: Ptr, address: bigint, pid: number, physical: U64Out): Status;
  vmi_translate_ksym2v(vmi: Ptr, symbol: string, address: U64Out): Status;
  vmi_pagetable_lookup(vmi: Ptr, table: bigint, address: bigint, physical: U64Out): Status;
  vmi_pause_vm(vmi: Ptr): Status;
  vmi_resume_vm(vmi: Ptr): Status;
  vmi_get_vcpureg(vmi: Ptr, value: U64Out, register: number, vcpu: number): Status;
  vmi_events_version(): number;
  vmi_get_vcpuregs(vmi: Ptr, registers: Out<Record<string, bigint>>, vcpu: number): Status;
  vmi_register_event(vmi: Ptr, event: Ptr): Status;
  vmi_clear_event(vmi: Ptr, event: Ptr, free: Ptr): Status;
  vmi_set_mem_event(vmi: Ptr, gfn: bigint, access: number, view: number): Status;
  vmi_set_mem_event_range(
    vmi: Ptr,
    first: bigint,
    last: bigint,
    access: number,
    view: number,
  ): Status;
  vmi_step_event(vmi: Ptr, event: Ptr, vcpu: number, steps: bigint, callback: Ptr): Status;
  vmi_events_listen: Callback<(vmi: Ptr, timeoutMs: number) => Status>;
  vmi_are_events_pending(vmi: Ptr): number;
  vmi_slat_state(vmi: Ptr, state: Out<boolean>): Status;
  vmi_slat_control(vmi: Ptr, state: boolean): Status;
  vmi_slat_create(vmi: Ptr, view: Out<number>): Status;
  vmi_slat_destroy(vmi: Ptr, view: number): Status;
  vmi_slat_switch(vmi: Ptr, view: number): Status;
  vmi_slat_change_gfn(vmi: Ptr, view: number, oldGfn: bigint, newGfn: bigint): Status;
  /** libc's free, for the strings LibVMI returns. */
  free(pointer: Ptr): void;
}

export interface LoadedLibvmi {
  path: string;
  functions: LibvmiFunctions;
}

const CANDIDATES = [
  'libvmi.so.0',
  'libvmi.so',
  '/usr/local/lib/libvmi.so.0',
  '/usr/lib/libvmi.so.0',
];

export const LIBVMI_MISSING =
  'LibVMI is not installed: build and install it from https://github.com/libvmi/libvmi (it is not packaged for Debian), or set RINGSIDE_LIBVMI to the path of libvmi.so';

const loaded = new Map<string, LoadedLibvmi>();

/** Where libvmi.so is looked for: RINGSIDE_LIBVMI alone when set, else the system library path. */
export function libvmiCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  const configured = env.RINGSIDE_LIBVMI;
  return configured ? [configured] : CANDIDATES;
}

/**
 * Loads libvmi.so once per process. Throws RingsideError NOT_FOUND, in one line naming what was
 * tried and what to install, when no candidate loads.
 */
export function loadLibvmi(env: NodeJS.ProcessEnv = process.env): LoadedLibvmi {
  const candidates = libvmiCandidates(env);
  const key = candidates.join('\0');
  const cached = loaded.get(key);
  if (cached) return cached;
  const tried: string[] = [];
  for (const path of candidates) {
    let library: LibraryHandle;
    try {
      library = koffi.load(path);
    } catch (error) {
      tried.push(`${path} (${firstLine(error)})`);
      continue;
    }
    const result = { path, functions: bind(library, path) };
    checkLibvmiAbi(result.functions.vmi_events_version(), path);
    loaded.set(key, result);
    return result;
  }
  throw new RingsideError('NOT_FOUND', `${LIBVMI_MISSING}; tried ${tried.join(', ')}`);
}

/**
 * The C layouts Ringside passes (vmi_event_t, x86_registers_t behind it) are those of LibVMI's
 * VMI_EVENTS_VERSION 9 (commit 82bbee6): a library of another events ABI would read and write past
 * them, so it is refused at load time rather than trusted.
 */
export function checkLibvmiAbi(version: number, path: string): void {
  if (version !== VMI_EVENTS_VERSION)
    throw new RingsideError(
      'UNSUPPORTED',
      `${path} has LibVMI's events ABI version ${version}; Ringside's event and register layouts are for version ${VMI_EVENTS_VERSION} (LibVMI 82bbee6, January 2026)`,
    );
}

/** Whether libvmi.so can be loaded here (for tests and benches that need it). */
export function libvmiAvailable(env: NodeJS.ProcessEnv = process.env): boolean {
  try {
    loadLibvmi(env);
    return true;
  } catch {
    return false;
  }
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

function bind(library: LibraryHandle, path: string): LibvmiFunctions {
  const libc = koffi.load('libc.so.6');
  const fn = (definition: string) => {
    try {
      return library.func(definition);
    } catch (error) {
      throw new RingsideError(
        'UNSUPPORTED',
        `${path} lacks a function Ringside needs (${definition}): ${firstLine(error)}; Ringside needs LibVMI of events ABI version ${VMI_EVENTS_VERSION} (commit 82bbee6 or a release with the same ABI)`,
        { cause: error },
      );
    }
  };
  return {
    vmi_init: fn(
      'int vmi_init(_Out_ void **vmi, int mode, const char *domain, uint64_t flags, void *init_data, _Out_ int *error)',
    ),
    vmi_init_os: fn('int vmi_init_os(void *vmi, int mode, const char *config, _Out_ int *error)'),
    vmi_destroy: fn('int vmi_destroy(void *vmi)'),
    vmi_events_version: fn('uint32_t vmi_events_version(void)'),
    vmi_get_memsize: fn('uint64_t vmi_get_memsize(void *vmi)'),
    vmi_get_max_physical_address: fn('uint64_t vmi_get_max_physical_address(void *vmi)'),
    vmi_get_num_vcpus: fn('unsigned int vmi_get_num_vcpus(void *vmi)'),
    vmi_get_page_mode: fn('uint32_t vmi_get_page_mode(void *vmi, unsigned long vcpu)'),
    vmi_get_ostype: fn('int vmi_get_ostype(void *vmi)'),
    vmi_get_offset: fn('int vmi_get_offset(void *vmi, const char *name, uint64_t *offset)'),
    vmi_get_kernel_struct_offset: fn(
      'int vmi_get_kernel_struct_offset(void *vmi, const char *s, const char *m, uint64_t *offset)',
    ),
    vmi_read_pa: fn(
      'int vmi_read_pa(void *vmi, uint64_t pa, size_t count, uint8_t *buf, size_t *read)',
    ),
    vmi_read_va: fn(
      'int vmi_read_va(void *vmi, uint64_t va, int32_t pid, size_t count, uint8_t *buf, size_t *read)',
    ),
    vmi_read_ksym: fn(
      'int vmi_read_ksym(void *vmi, const char *sym, size_t count, uint8_t *buf, size_t *read)',
    ),
    vmi_read: library.func('vmi_read', 'int', [
      'void *',
      koffi.pointer(AccessContext),
      'size_t',
      'uint8_t *',
      'size_t *',
    ]),
    vmi_read_64_pa: fn('int vmi_read_64_pa(void *vmi, uint64_t pa, uint64_t *value)'),
    vmi_read_str_va: fn('void *vmi_read_str_va(void *vmi, uint64_t va, int32_t pid)'),
    vmi_write_pa: fn(
      'int vmi_write_pa(void *vmi, uint64_t pa, size_t count, uint8_t *buf, size_t *written)',
    ),
    vmi_write_va: fn(
      'int vmi_write_va(void *vmi, uint64_t va, int32_t pid, size_t count, uint8_t *buf, size_t *written)',
    ),
    vmi_translate_kv2p: fn('int vmi_translate_kv2p(void *vmi, uint64_t va, uint64_t *pa)'),
    vmi_translate_uv2p: fn(
      'int vmi_translate_uv2p(void *vmi, uint64_t va, int32_t pid, uint64_t *pa)',
    ),
    vmi_translate_ksym2v: fn('int vmi_translate_ksym2v(void *vmi, const char *sym, uint64_t *va)'),
    vmi_pagetable_lookup: fn(
      'int vmi_pagetable_lookup(void *vmi, uint64_t pt, uint64_t va, uint64_t *pa)',
    ),
    vmi_pause_vm: fn('int vmi_pause_vm(void *vmi)'),
    vmi_resume_vm: fn('int vmi_resume_vm(void *vmi)'),
    vmi_get_vcpureg: fn(
      'int vmi_get_vcpureg(void *vmi, uint64_t *value, uint64_t reg, unsigned long vcpu)',
    ),
    vmi_get_vcpuregs: library.func('vmi_get_vcpuregs', 'int', [
      'void *',
      koffi.out(koffi.pointer(X86Registers)),
      'unsigned long',
    ]),
    vmi_register_event: fn('int vmi_register_event(void *vmi, void *event)'),
    vmi_clear_event: fn('int vmi_clear_event(void *vmi, void *event, void *free_routine)'),
    vmi_set_mem_event: fn(
      'int vmi_set_mem_event(void *vmi, uint64_t gfn, uint8_t access, uint16_t view)',
    ),
    vmi_set_mem_event_range: fn(
      'int vmi_set_mem_event_range(void *vmi, uint64_t first, uint64_t last, uint8_t access, uint16_t view)',
    ),
    vmi_step_event: library.func('vmi_step_event', 'int', [
      'void *',
      'void *',
      'uint32_t',
      'uint64_t',
      koffi.pointer(EventCallback),
    ]),
    vmi_events_listen: fn('int vmi_events_listen(void *vmi, uint32_t timeout)'),
    vmi_are_events_pending: fn('int vmi_are_events_pending(void *vmi)'),
    vmi_slat_state: fn('int vmi_slat_state(void *vmi, _Out_ bool *state)'),
    vmi_slat_control: fn('int vmi_slat_control(void *vmi, bool state)'),
    vmi_slat_create: fn('int vmi_slat_create(void *vmi, _Out_ uint16_t *view)'),
    vmi_slat_destroy: fn('int vmi_slat_destroy(void *vmi, uint16_t view)'),
    vmi_slat_switch: fn('int vmi_slat_switch(void *vmi, uint16_t view)'),
    vmi_slat_change_gfn: fn(
      'int vmi_slat_change_gfn(void *vmi, uint16_t view, uint64_t old_gfn, uint64_t new_gfn)',
    ),
    free: libc.func('void free(void *ptr)'),
  } as unknown as LibvmiFunctions;
}
