// Kernel integrity, live: write traps on the frames of the syscall table, the IDT and the kernel
// text (any write, through any alias, is seen with the writer's rip and the bytes before and after;
// with the TCG plugin they are armed while a vCPU runs with CR0.WP clear, see `writeTraps`);
// traps on CR0/CR4 writes that turn off WP, SMEP or SMAP; and a periodic check of every syscall
// entry and IDT gate against what monitoring began with, for writes the traps cannot see (DMA, a
// backend without traps). Legitimate kernel self-patching (text_poke through the poking mm, used by
// static keys, alternatives and ftrace) is told apart by the address it writes through.
import { Observable, Subject, merge, type SchedulerLike, type Subscription } from 'rxjs';
import { loadDisassembler } from '../../introspect/disasm/x86.js';
import type { HookContext } from '../../introspect/domain/types.js';
import { isRingsideError } from '../../introspect/errors.js';
import type { VmiEvent } from '../../introspect/events/event.js';
import { currentTaskLocator } from '../../introspect/os/linux/current-task.js';
import {
  CR0_WP,
  CR4_SMAP,
  CR4_SMEP,
  checkIntegrity,
  decodeGate,
  locateCode,
  symbolName,
  takeBaseline,
  type IntegrityBaseline,
  type IntegrityViolation,
} from '../../introspect/os/linux/integrity.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { listModules } from '../../introspect/os/linux/modules.js';
import {
  currentTaskOf,
  envelope,
  hookEvents,
  periodicEvents,
  processFields,
  readConfirmed,
  unreadable,
} from '../guest-context.js';
import type { DetectorPlugin, PluginContext } from '../types.js';
import { hexBytes } from '../../introspect/events/json.js';
import { branchTarget, codeAt, violationEvent } from './evidence.js';
import { linuxRegions, type FrameHit, type ProtectedRegions } from './regions.js';

/** How often the periodic check runs (ms). */
export const INTEGRITY_INTERVAL_MS = 1000;
/** text_poke maps the page it patches at poking_addr in poking_mm: two pages (a write may straddle). */
const POKING_BYTES = 2n * 4096n;

function entryOf(hit: FrameHit, size: number): { offset: number; length: number } {
  if (hit.region.name === 'syscall_table') return { offset: hit.offset & ~7, length: 8 };
  if (hit.region.name === 'idt') return { offset: hit.offset & ~15, length: 16 };
  return { offset: hit.offset, length: Math.min(size, hit.region.length - hit.offset) };
}

const u64 = (bytes: Uint8Array): bigint =>
  new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);

export interface KernelIntegrityOptions {
  intervalMs?: number;
  /** The periodic check's clock (rxjs' async scheduler unless a test gives a virtual one). */
  scheduler?: SchedulerLike;
  /**
   * When write traps on the protected frames are armed: always, or only while a vCPU has CR0.WP
   * clear. Default: always with hardware traps (EPT), while-wp-clear with the TCG plugin.
   */
  writeTraps?: 'always' | 'while-wp-clear';
}

export function createKernelIntegrity(options: KernelIntegrityOptions = {}): DetectorPlugin {
  const plugin: DetectorPlugin = {
    meta: {
      id: 'kernel-integrity',
      version: '1.0.0',
      description:
        'Writes to the syscall table, IDT and kernel text; CR0.WP/CR4.SMEP/SMAP turned off; periodic table checks',
      architectures: ['x86_64', 'aarch64'],
      // The IDT (x86-64) and VBAR_EL1 (AArch64) are found per architecture; live, the traps need
      // the TCG plugin's or EPT's frame traps and CR-write traps, which only x86-64 decodes today.
      symbols: ['sys_call_table', '_stext', '_etext'],
      capabilities: { live: [true], memAccess: ['tcg-plugin', 'ept'], registerWriteTraps: [true] },
      emits: ['kernel.write', 'integrity.violation'],
    },
    start({ domain, kernel }: PluginContext): Observable<VmiEvent> {
      const locator = currentTaskLocator(kernel);
      // Capstone loads now, as the detector starts, not on the first write while its vCPU is held
      // (hooks are planted meanwhile, so nothing is missed; a failure shows at the first use).
      loadDisassembler(kernel.arch.disassembly).catch(() => undefined);
      const regions = linuxRegions(kernel);
      const baseline = takeBaseline(kernel);
      const pokingAddress = readPokingAddress(kernel);
      // Violations the periodic check reported that still stand, so each is reported once while it
      // lasts (and again if it comes back). A trapped write never silences the check: the trap's
      // kernel.write may be matched by no rule, and the check judges state, not writes.
      let reported = new Set<string>();

      // Write traps on every protected frame: free with hardware (EPT) traps; with the TCG plugin
      // every kernel store is filtered, so by default they are armed only while some vCPU runs
      // with CR0.WP clear (the usual way to write read-only kernel memory), and the periodic check
      // covers the tables against writes through a writable alias.
      const mode =
        options.writeTraps ??
        (domain.capabilities.memAccess === 'ept' ? 'always' : 'while-wp-clear');
      const written = new Subject<VmiEvent>();
      let armed: Subscription | undefined;
      const arm = (): void => {
        if (armed) return;
        armed = merge(
          ...regions.frames().map((frame) =>
            hookEvents(
              domain,
              {
                kind: 'memory',
                frame,
                access: { w: true },
                kernelOnly: true,
                name: 'kernel-integrity',
              },
              (context) => onWrite(context),
              (event, error) => unreadable('kernel.write', event, 'the write', error),
            ),
          ),
        ).subscribe({
          next: (event) => written.next(event),
          error: (error: unknown) => written.error(error),
        });
      };
      const disarm = (): void => {
        armed?.unsubscribe();
        armed = undefined;
      };
      const wpClear = new Set<number>();

      const onWrite = async ({ event }: HookContext): Promise<VmiEvent | undefined> => {
        const gpa = event.vmi?.gpa;
        if (gpa === undefined) return undefined;
        const hit = regions.locate(gpa);
        if (!hit) return undefined;
        const { region } = hit;
        const entry = entryOf(hit, event.vmi?.size ?? 1);
        const entryAddress = region.start + BigInt(entry.offset);
        const before = region.shadow.slice(entry.offset, entry.offset + entry.length);
        const after = kernel.reader.bytes(entryAddress, entry.length).slice();
        region.shadow.set(after, entry.offset);
        const alias = event.vmi?.gva;
        const poke =
          pokingAddress !== undefined &&
          alias !== undefined &&
          alias >= pokingAddress &&
          alias < pokingAddress + POKING_BYTES;
        const rip = event.vmi?.rip ?? 0n;
        const task = currentTaskOf(kernel, event, locator);
        let symbol: string;
        let pointer: { old: bigint; new: bigint } | undefined;
        if (region.name === 'syscall_table') {
          symbol = `sys_call_table+0x${entry.offset.toString(16)}`;
          pointer = { old: u64(before), new: u64(after) };
        } else if (region.name === 'idt') {
          symbol = `idt_table+0x${entry.offset.toString(16)}`;
          const vector = entry.offset / 16;
          pointer = {
            old: decodeGate(vector, before).handler,
            new: decodeGate(vector, after).handler,
          };
        } else {
          symbol =
            symbolName(kernel, entryAddress) ??
            `_stext+0x${(entryAddress - region.start).toString(16)}`;
        }
        const modules = () => listModules(kernel).modules;
        const disassembly = pointer
          ? await codeAt(kernel, pointer.new)
          : await codeAt(kernel, entryAddress);
        // Patched code that now jumps or calls somewhere: name where (an inline hook's target).
        const jump = pointer ? undefined : branchTarget(disassembly);
        return {
          type: 'kernel.write',
          ...envelope(event),
          process: processFields(kernel, task),
          vmi: {
            rip,
            gva: entryAddress,
            gpa,
            access: 'w',
            size: event.vmi?.size ?? entry.length,
            symbol,
            hook: poke ? 'text_poke' : region.name,
            data: hexBytes(after),
            ...(pointer ? { old_value: pointer.old, new_value: pointer.new } : {}),
            disassembly,
          },
          details: {
            old_data: hexBytes(before),
            writer: locateCode(kernel, rip, modules),
            ...(alias !== undefined && alias !== entryAddress ? { written_through: alias } : {}),
            ...(pointer ? { target_location: locateCode(kernel, pointer.new, modules) } : {}),
            ...(jump !== undefined
              ? { jump_target: { address: jump, ...locateCode(kernel, jump, modules) } }
              : {}),
            ...(poke ? { legitimate: 'text_poke through the poking mm' } : {}),
          },
        };
      };

      const registerTrap = (register: 'cr0' | 'cr4'): Observable<VmiEvent> =>
        hookEvents(
          domain,
          { kind: 'register', register, name: `kernel-integrity:${register}` },
          (context) => {
            const { event } = context;
            const old = event.vmi?.old_value;
            const value = event.vmi?.new_value;
            if (old === undefined || value === undefined) return undefined;
            const cleared: [string, string][] = [];
            if (register === 'cr0' && mode === 'while-wp-clear') {
              const vcpu = event.vcpu ?? 0;
              if ((value & CR0_WP) === 0n) wpClear.add(vcpu);
              else wpClear.delete(vcpu);
              if (wpClear.size > 0 && !armed) {
                arm();
                // The traps reach the plugin before this vCPU resumes; the mov to CR0 ends its
                // translation block, and the plugin starts the flush before the next one.
                context.hold(new Promise((resolve) => setImmediate(resolve)));
              } else if (wpClear.size === 0) disarm();
            }
            if (register === 'cr0' && (old & CR0_WP) !== 0n && (value & CR0_WP) === 0n)
              cleared.push([
                'cr0.wp',
                'CR0.WP turned off: the kernel can now write its read-only memory',
              ]);
            if (register === 'cr4') {
              if ((old & CR4_SMEP) !== 0n && (value & CR4_SMEP) === 0n)
                cleared.push(['cr4.smep', 'CR4.SMEP turned off']);
              if ((old & CR4_SMAP) !== 0n && (value & CR4_SMAP) === 0n)
                cleared.push(['cr4.smap', 'CR4.SMAP turned off']);
            }
            if (cleared.length === 0) return undefined;
            const task = currentTaskOf(kernel, event, locator);
            const rip = event.vmi?.rip ?? 0n;
            const writer = locateCode(kernel, rip, () => listModules(kernel).modules);
            return cleared.map(([check, message]) => ({
              type: 'integrity.violation' as const,
              ...envelope(event),
              process: processFields(kernel, task),
              vmi: {
                rip,
                register,
                old_value: old,
                new_value: value,
                symbol: register,
                hook: check,
              },
              details: {
                check,
                message: `${message} (vCPU ${event.vcpu ?? 0}, from ${writer.symbol ?? `0x${rip.toString(16)}`})`,
                writer,
              },
            }));
          },
          (event, error) =>
            unreadable('integrity.violation', event, `the ${register} write`, error),
        );

      const periodic = periodicEvents(
        options.intervalMs ?? INTEGRITY_INTERVAL_MS,
        () => check(baseline),
        options.scheduler,
      );

      const check = async (against: IntegrityBaseline): Promise<VmiEvent[]> => {
        const key = (violation: IntegrityViolation): string =>
          `${violation.symbol}=${violation.new_value}`;
        const standing = await readConfirmed(
          domain,
          kernel,
          () => checkIntegrity(kernel, [], against),
          (found) => found.some((violation) => !reported.has(key(violation))),
        );
        const violations = standing.filter((violation) => !reported.has(key(violation)));
        reported = new Set(standing.map(key));
        const base = {
          domain: domain.name,
          time: performance.now(),
          timestamp: new Date().toISOString(),
        };
        const found: VmiEvent[] = [];
        for (const violation of violations) {
          found.push(await violationEvent(kernel, violation, base));
        }
        return found;
      };

      const writes = new Observable<VmiEvent>((subscriber) => {
        const subscription = written.subscribe(subscriber);
        if (mode === 'always') arm();
        return () => {
          subscription.unsubscribe();
          disarm();
        };
      });
      return merge(writes, registerTrap('cr0'), registerTrap('cr4'), periodic);
    },
    judge: async ({ kernel, domain, cpus, timestamp }) => {
      const base = { domain, time: performance.now(), timestamp };
      const events: VmiEvent[] = [];
      for (const violation of checkIntegrity(kernel, cpus))
        events.push(await violationEvent(kernel, violation, base));
      return events;
    },
  };
  return plugin;
}

function readPokingAddress(kernel: LinuxKernel): bigint | undefined {
  const variable = kernel.symbols.address('poking_addr');
  if (variable === undefined) return undefined;
  try {
    return kernel.reader.u64(variable);
  } catch (error) {
    if (isRingsideError(error)) return undefined;
    throw error;
  }
}

export const kernelIntegrity = createKernelIntegrity();

/** Regions, for tests and benchmarks that want to see what is protected. */
export { linuxRegions, type ProtectedRegions };
