// One LibVMI instance (vmi_instance_t) behind a class that guards the C API's traps: no use after
// destroy, calls serialized with the event listener, events refused unless initialised with them.
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import koffi from 'koffi';
import { InputError, MemoryError, RingsideError } from '../../errors.js';
import { loadLibvmi, type LibvmiFunctions } from './bindings.js';
import {
  ACCESS_CONTEXT_VERSION,
  INIT_ERRORS,
  OS_TYPES,
  PAGE_MODES,
  TranslationMechanism,
  VMI_SUCCESS,
  VmiConfig,
  VmiInit,
  VmiMode,
  X86Registers,
  type OsType,
  type PageMode,
  type VmiModeName,
} from './layouts.js';

export interface LibvmiOpenOptions {
  mode: VmiModeName;
  /** A domain name (Xen, KVMi) or the path of a raw memory file (file mode). */
  domain: string;
  /** Initialise with VMI_INIT_EVENTS: required for any hook (Xen vm_event, KVMi). */
  events?: boolean;
  /**
   * A Volatility 3 ISF (`ringside profile isf`) for the OS layer (vmi_init_os with a JSON path),
   * or a LibVMI config string. Neither: physical memory and registers only.
   */
  profile?: { isf: string } | { config: string };
  /**
   * KVMi mode: the path of the introspection socket QEMU's `-chardev socket` serves for the guest
   * (LibVMI's KVM driver cannot open a guest without it; VMI_INIT_DATA_KVMI_SOCKET).
   */
  kvmiSocket?: string;
  /** The bound library; tests pass a fake. Default: libvmi.so through koffi. */
  library?: LibvmiFunctions;
}

type Ptr = bigint;

/** vmi_init_data_type_t: VMI_INIT_DATA_XEN_EVTCHN, VMI_INIT_DATA_MEMMAP, VMI_INIT_DATA_KVMI_SOCKET. */
const VMI_INIT_DATA_KVMI_SOCKET = 2;

/** Says why a call (or, with `destroying`, vmi_destroy) cannot be made now, or undefined when it can. */
export type CallGate = (destroying?: boolean) => string | undefined;

export class LibvmiInstance {
  readonly os: OsType;
  private handle: Ptr | null;
  private gate: CallGate = () => undefined;
  /** The out-parameter of every 64-bit result (calls are serialized, so one is enough). */
  private readonly out = new BigUint64Array(1);

  private constructor(
    readonly name: string,
    readonly mode: VmiModeName,
    readonly eventsEnabled: boolean,
    private readonly lib: LibvmiFunctions,
    handle: Ptr,
    os: OsType,
  ) {
    this.handle = handle;
    this.os = os;
  }

  /**
   * vmi_init, then vmi_init_os when a profile is given. Not vmi_init_complete: when its OS step
   * fails it frees the instance without vmi_destroy and leaks the driver's file descriptor; here
   * a failed OS step destroys the instance.
   */
  static open(options: LibvmiOpenOptions): LibvmiInstance {
    // LibVMI's file driver double-frees (and crashes Node) on a path it cannot open: check first.
    if (options.mode === 'file') checkMemoryFile(options.domain);
    if (options.mode === 'kvm' && !options.kvmiSocket)
      throw new InputError(
        "KVMi mode needs the path of the guest's introspection socket (kvmiSocket): LibVMI cannot open a KVMi guest without it",
        options.domain,
      );
    const lib = options.library ?? loadLibvmi().functions;
    const flags = VmiInit.domainName | (options.events ? VmiInit.events : 0n);
    const out: [bigint | null] = [null];
    const error: [number] = [0];
    // vmi_init_data_t { uint64_t count; { uint64_t type; void *data; } entry[1]; }, kept alive
    // (with the path it points at) for the duration of the call.
    const socketPath = options.kvmiSocket ? Buffer.from(`${options.kvmiSocket}\0`) : undefined;
    const initData = socketPath ? Buffer.alloc(24) : undefined;
    if (socketPath && initData) {
      initData.writeBigUInt64LE(1n, 0);
      initData.writeBigUInt64LE(BigInt(VMI_INIT_DATA_KVMI_SOCKET), 8);
      initData.writeBigUInt64LE(BigInt(koffi.address(socketPath) as bigint), 16);
    }
    const initPointer = initData ? (koffi.address(initData) as bigint) : null;
    if (
      lib.vmi_init(out, VmiMode[options.mode], options.domain, flags, initPointer, error) !==
      VMI_SUCCESS
    )
      throw new RingsideError(
        'BACKEND',
        `${options.domain}: LibVMI could not open it in ${options.mode} mode: ${initError(error[0])}`,
      );
    const handle = toPointer(out[0], options.domain);
    let os: OsType = 'unknown';
    if (options.profile) {
      const [mode, config] =
        'isf' in options.profile
          ? [VmiConfig.jsonPath, options.profile.isf]
          : [VmiConfig.string, options.profile.config];
      const found = lib.vmi_init_os(handle, mode, config, error);
      os = OS_TYPES[found] ?? 'unknown';
      if (os === 'unknown') {
        lib.vmi_destroy(handle);
        const what = 'isf' in options.profile ? options.profile.isf : 'the config string';
        throw new RingsideError(
          'BACKEND',
          `${options.domain}: LibVMI's OS init failed with ${what}: ${initError(error[0])}`,
        );
      }
    }
    return new LibvmiInstance(
      options.domain,
      options.mode,
      options.events === true,
      lib,
      handle,
      os,
    );
  }

  get destroyed(): boolean {
    return this.handle === null;
  }

  /** The event listener installs a gate: calls from other code wait for it (see LibvmiEvents). */
  setGate(gate: CallGate): void {
    this.gate = gate;
  }

  /** vmi_destroy, refused while vmi_events_listen is in flight (even from inside its callback). */
  destroy(): void {
    if (this.handle === null) return;
    const busy = this.gate(true);
    if (busy !== undefined)
      throw new RingsideError('BACKEND', `libvmi:${this.name}: vmi_destroy refused: ${busy}`);
    const handle = this.handle;
    this.handle = null;
    this.lib.vmi_destroy(handle);
  }

  memorySize(): bigint {
    return BigInt(this.lib.vmi_get_memsize(this.use('vmi_get_memsize')));
  }

  maxPhysicalAddress(): bigint {
    return BigInt(this.lib.vmi_get_max_physical_address(this.use('vmi_get_max_physical_address')));
  }

  vcpuCount(): number {
    return this.lib.vmi_get_num_vcpus(this.use('vmi_get_num_vcpus'));
  }

  pageMode(vcpu = 0): PageMode {
    return PAGE_MODES[this.lib.vmi_get_page_mode(this.use('vmi_get_page_mode'), vcpu)] ?? 'unknown';
  }

  /** An OS offset LibVMI computed: linux_kaslr, linux_tasks, linux_pid, linux_name, linux_pgd … */
  offset(name: string): bigint | undefined {
    const out = this.out;
    return this.lib.vmi_get_offset(this.use('vmi_get_offset'), name, out) === VMI_SUCCESS
      ? BigInt(out[0])
      : undefined;
  }

  structOffset(struct: string, member: string): bigint | undefined {
    const out = this.out;
    return this.lib.vmi_get_kernel_struct_offset(
      this.use('vmi_get_kernel_struct_offset'),
      struct,
      member,
      out,
    ) === VMI_SUCCESS
      ? BigInt(out[0])
      : undefined;
  }

  /** Fills `target` from guest-physical `address` in one call; MemoryError at the first unread byte. */
  readPhysical(address: bigint, target: Uint8Array): void {
    const read = this.out;
    const status = this.lib.vmi_read_pa(
      this.use('vmi_read_pa'),
      address,
      target.length,
      target,
      read,
    );
    if (status !== VMI_SUCCESS || Number(read[0]) !== target.length)
      throw new MemoryError(
        'LibVMI could not read guest-physical memory',
        address + BigInt(read[0]),
        `libvmi:${this.name}`,
      );
  }

  read64Physical(address: bigint): bigint {
    const out = this.out;
    if (this.lib.vmi_read_64_pa(this.use('vmi_read_64_pa'), address, out) !== VMI_SUCCESS)
      throw new MemoryError('LibVMI could not read 8 bytes', address, `libvmi:${this.name}`);
    return BigInt(out[0]);
  }

  /** Reads virtual memory of process `pid` (0: the kernel). */
  readVirtual(address: bigint, target: Uint8Array, pid = 0): void {
    const read = this.out;
    const status = this.lib.vmi_read_va(
      this.use('vmi_read_va'),
      address,
      pid,
      target.length,
      target,
      read,
    );
    if (status !== VMI_SUCCESS || Number(read[0]) !== target.length)
      throw new MemoryError(
        `LibVMI could not read virtual memory of pid ${pid}`,
        address + BigInt(read[0]),
        `libvmi:${this.name}`,
      );
  }

  /**
   * Reads virtual memory through the page tables rooted at `table` (a CR3 value), with an
   * access_context_t (VMI_TM_PROCESS_DTB): any process, with no pid look-up in LibVMI.
   */
  readVirtualWithTable(table: bigint, address: bigint, target: Uint8Array): void {
    const read = this.out;
    const context = {
      version: ACCESS_CONTEXT_VERSION,
      tm: TranslationMechanism.processDtb,
      addr: address,
      pt: table,
    };
    const status = this.lib.vmi_read(this.use('vmi_read'), context, target.length, target, read);
    if (status !== VMI_SUCCESS || Number(read[0]) !== target.length)
      throw new MemoryError(
        `LibVMI could not read virtual memory through the page table at 0x${table.toString(16)}`,
        address + BigInt(read[0]),
        `libvmi:${this.name}`,
      );
  }

  readSymbol(symbol: string, target: Uint8Array): void {
    const read = this.out;
    const status = this.lib.vmi_read_ksym(
      this.use('vmi_read_ksym'),
      symbol,
      target.length,
      target,
      read,
    );
    if (status !== VMI_SUCCESS || Number(read[0]) !== target.length)
      throw new RingsideError(
        'MEMORY_UNREADABLE',
        `libvmi:${this.name}: LibVMI could not read ${target.length} bytes at kernel symbol ${symbol}`,
      );
  }

  /**
   * A NUL-terminated string at a virtual address (LibVMI stops at the first unmapped page); the
   * C string LibVMI allocates is freed here. undefined when nothing could be read.
   */
  readString(address: bigint, pid = 0): string | undefined {
    const pointer = this.lib.vmi_read_str_va(this.use('vmi_read_str_va'), address, pid);
    if (pointer === null || pointer === 0n) return undefined;
    try {
      return koffi.decode.string(pointer);
    } finally {
      this.lib.free(pointer);
    }
  }

  writePhysical(address: bigint, bytes: Uint8Array): void {
    const written = this.out;
    const status = this.lib.vmi_write_pa(
      this.use('vmi_write_pa'),
      address,
      bytes.length,
      bytes,
      written,
    );
    if (status !== VMI_SUCCESS || Number(written[0]) !== bytes.length)
      throw new MemoryError(
        'LibVMI could not write guest-physical memory',
        address + BigInt(written[0]),
        `libvmi:${this.name}`,
      );
  }

  writeVirtual(address: bigint, bytes: Uint8Array, pid = 0): void {
    const written = this.out;
    const status = this.lib.vmi_write_va(
      this.use('vmi_write_va'),
      address,
      pid,
      bytes.length,
      bytes,
      written,
    );
    if (status !== VMI_SUCCESS || Number(written[0]) !== bytes.length)
      throw new MemoryError(
        `LibVMI could not write virtual memory of pid ${pid}`,
        address + BigInt(written[0]),
        `libvmi:${this.name}`,
      );
  }

  /** Kernel virtual → physical through the kernel's page tables; undefined when unmapped. */
  translateKernel(address: bigint): bigint | undefined {
    const out = this.out;
    return this.lib.vmi_translate_kv2p(this.use('vmi_translate_kv2p'), address, out) === VMI_SUCCESS
      ? BigInt(out[0])
      : undefined;
  }

  translateUser(address: bigint, pid: number): bigint | undefined {
    const out = this.out;
    return this.lib.vmi_translate_uv2p(this.use('vmi_translate_uv2p'), address, pid, out) ===
      VMI_SUCCESS
      ? BigInt(out[0])
      : undefined;
  }

  symbolAddress(symbol: string): bigint | undefined {
    const out = this.out;
    return this.lib.vmi_translate_ksym2v(this.use('vmi_translate_ksym2v'), symbol, out) ===
      VMI_SUCCESS
      ? BigInt(out[0])
      : undefined;
  }

  /** Walks the page tables rooted at `table` (a CR3 value). */
  pagetableLookup(table: bigint, address: bigint): bigint | undefined {
    const out = this.out;
    return this.lib.vmi_pagetable_lookup(this.use('vmi_pagetable_lookup'), table, address, out) ===
      VMI_SUCCESS
      ? BigInt(out[0])
      : undefined;
  }

  pause(): void {
    this.check(this.lib.vmi_pause_vm(this.use('vmi_pause_vm')), 'pause the VM');
  }

  resume(): void {
    this.check(this.lib.vmi_resume_vm(this.use('vmi_resume_vm')), 'resume the VM');
  }

  register(register: number, vcpu: number): bigint {
    const out = this.out;
    this.check(
      this.lib.vmi_get_vcpureg(this.use('vmi_get_vcpureg'), out, register, vcpu),
      `read register ${register} of vCPU ${vcpu}`,
    );
    return BigInt(out[0]);
  }

  /** Every x86 register of a vCPU (x86_registers_t by field name). */
  registers(vcpu: number): Record<string, bigint> {
    const out: [Record<string, bigint>] = [{}];
    this.check(
      this.lib.vmi_get_vcpuregs(this.use('vmi_get_vcpuregs'), out, vcpu),
      `read the registers of vCPU ${vcpu}`,
    );
    const registers: Record<string, bigint> = {};
    for (const name of Object.keys(koffi.type(X86Registers).members ?? {}))
      registers[name] = BigInt(out[0][name] ?? 0);
    return registers;
  }

  /** Refused before the C call: vmi_set_mem_event dereferences event state a non-events instance lacks. */
  setMemoryEvent(gfn: bigint, access: number, view = 0): void {
    const handle = this.useEvents('vmi_set_mem_event');
    this.check(
      this.lib.vmi_set_mem_event(handle, gfn, access, view),
      `set memory access ${access} on frame 0x${gfn.toString(16)} in view ${view}`,
    );
  }

  setMemoryEventRange(first: bigint, last: bigint, access: number, view = 0): void {
    const handle = this.useEvents('vmi_set_mem_event_range');
    this.check(
      this.lib.vmi_set_mem_event_range(handle, first, last, access, view),
      `set memory access ${access} on frames 0x${first.toString(16)}–0x${last.toString(16)}`,
    );
  }

  /** Registers a C vmi_event_t (which must stay allocated until cleared). */
  registerEvent(event: bigint): void {
    this.check(
      this.lib.vmi_register_event(this.useEvents('vmi_register_event'), event),
      'register an event',
    );
  }

  clearEvent(event: bigint): void {
    this.check(
      this.lib.vmi_clear_event(this.useEvents('vmi_clear_event'), event, null),
      'clear an event',
    );
  }

  stepEvent(event: bigint, vcpu: number, steps: bigint, callback: bigint | null): void {
    this.check(
      this.lib.vmi_step_event(this.useEvents('vmi_step_event'), event, vcpu, steps, callback),
      `step vCPU ${vcpu}`,
    );
  }

  eventsPending(): number {
    return this.lib.vmi_are_events_pending(this.useEvents('vmi_are_events_pending'));
  }

  /** The handle for vmi_events_listen, which the listener calls asynchronously itself. */
  listenHandle(): bigint {
    return this.useEvents('vmi_events_listen');
  }

  get functions(): LibvmiFunctions {
    return this.lib;
  }

  slatEnabled(): boolean {
    const out: [boolean] = [false];
    this.check(this.lib.vmi_slat_state(this.use('vmi_slat_state'), out), 'read the altp2m state');
    return Boolean(out[0]);
  }

  slatControl(enabled: boolean): void {
    this.check(
      this.lib.vmi_slat_control(this.use('vmi_slat_control'), enabled),
      `${enabled ? 'enable' : 'disable'} altp2m`,
    );
  }

  slatCreate(): number {
    const out: [number] = [0];
    this.check(this.lib.vmi_slat_create(this.use('vmi_slat_create'), out), 'create an altp2m view');
    return out[0];
  }

  slatDestroy(view: number): void {
    this.check(
      this.lib.vmi_slat_destroy(this.use('vmi_slat_destroy'), view),
      `destroy view ${view}`,
    );
  }

  /** Switches every vCPU of the domain to `view` (LibVMI has no per-vCPU switch outside events). */
  slatSwitch(view: number): void {
    this.check(
      this.lib.vmi_slat_switch(this.use('vmi_slat_switch'), view),
      `switch to view ${view}`,
    );
  }

  /** In `view`, guest frame `oldGfn` is backed by machine frame of `newGfn` (a shadow page). */
  slatChangeGfn(view: number, oldGfn: bigint, newGfn: bigint): void {
    this.check(
      this.lib.vmi_slat_change_gfn(this.use('vmi_slat_change_gfn'), view, oldGfn, newGfn),
      `remap frame 0x${oldGfn.toString(16)} to 0x${newGfn.toString(16)} in view ${view}`,
    );
  }

  /** The handle, or a RingsideError naming the call when the instance is gone or busy. */
  private use(call: string): bigint {
    if (this.handle === null)
      throw new RingsideError(
        'INTERNAL',
        `libvmi:${this.name}: ${call} after the instance was destroyed`,
      );
    const busy = this.gate();
    if (busy !== undefined)
      throw new RingsideError('BACKEND', `libvmi:${this.name}: ${call} refused: ${busy}`);
    return this.handle;
  }

  private useEvents(call: string): bigint {
    const handle = this.use(call);
    if (!this.eventsEnabled)
      throw new RingsideError(
        'CAPABILITY',
        `libvmi:${this.name}: ${call} needs an instance opened with events (VMI_INIT_EVENTS); ${this.mode} mode was opened without`,
      );
    return handle;
  }

  private check(status: number, what: string): void {
    if (status !== VMI_SUCCESS)
      throw new RingsideError('BACKEND', `libvmi:${this.name}: LibVMI could not ${what}`);
  }
}

function checkMemoryFile(path: string): void {
  let stat;
  try {
    stat = statSync(path);
    accessSync(path, constants.R_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? 'no such file' : `cannot open (${code})`, path, {
      cause: error,
    });
  }
  if (!stat.isFile()) throw new InputError('not a regular file', path);
  if (stat.size === 0) throw new InputError('the file is empty', path, { code: 'TRUNCATED' });
  // LibVMI's file driver reads raw physical memory only; given a core it fails later with "the OS
  // could not be initialised", which names neither the file's format nor the way out.
  const magic = Buffer.alloc(4);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, magic, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  const format =
    magic.readUInt32BE(0) === 0x7f454c46
      ? 'an ELF core'
      : magic.readUInt32LE(0) === 0x4c694d45
        ? 'a LiME dump'
        : undefined;
  if (format)
    throw new InputError(
      `${format}: LibVMI's file mode reads raw memory only; open it with Ringside's snapshot backend (openDomain kind 'snapshot', \`ringside snapshot\`) or give LibVMI a raw dump`,
      path,
      { code: 'UNSUPPORTED' },
    );
}

function initError(code: number): string {
  return INIT_ERRORS[code] ?? `error ${code}`;
}

function toPointer(value: bigint | null, domain: string): bigint {
  if (value === null || value === 0n)
    throw new RingsideError('INTERNAL', `${domain}: vmi_init succeeded without an instance`);
  return value;
}
