// A trapped write to a protected region as a kernel.write event: the entry written (a syscall
// pointer, an IDT gate, or text), its bytes before and after, the writer, where a new pointer or a
// patched branch leads, and whether it went through text_poke's alias (legitimate self-patching).
import type { DomainResponder } from '../../introspect/domain/types.js';
import { MemoryError } from '../../introspect/errors.js';
import type { VmiEvent } from '../../introspect/events/event.js';
import { hexBytes } from '../../introspect/events/json.js';
import { markRestorable } from '../../introspect/events/restorable.js';
import type { CurrentTaskLocator } from '../../introspect/os/linux/current-task.js';
import { decodeGate, locateCode, symbolName } from '../../introspect/os/linux/integrity.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { listModules } from '../../introspect/os/linux/modules.js';
import { currentTaskOf, envelope, processFields } from '../guest-context.js';
import { branchTarget, codeAt } from './evidence.js';
import type { FrameHit, ProtectedRegions } from './regions.js';

/** text_poke maps the page it patches at poking_addr in poking_mm: two pages (a write may straddle). */
const POKING_BYTES = 2n * 4096n;

/** The whole entry a write touched: a syscall pointer, an IDT gate, or the text bytes written. */
function entryOf(hit: FrameHit, size: number): { offset: number; length: number } {
  if (hit.region.name === 'syscall_table') return { offset: hit.offset & ~7, length: 8 };
  if (hit.region.name === 'idt') return { offset: hit.offset & ~15, length: 16 };
  return { offset: hit.offset, length: Math.min(size, hit.region.length - hit.offset) };
}

const u64 = (bytes: Uint8Array): bigint =>
  new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);

export interface WriteContext {
  kernel: LinuxKernel;
  regions: ProtectedRegions;
  locator: CurrentTaskLocator;
  /** Where text_poke maps the page it patches, when the kernel has poking_addr. */
  pokingAddress: bigint | undefined;
  /** How a restore action writes guest memory; undefined when the backend cannot. */
  responder?: DomainResponder | undefined;
}

/**
 * The kernel.write event for a trapped write (undefined when it hit no protected byte), updating the
 * region's shadow so the next write's "before" is this one's "after".
 */
export async function kernelWriteEvent(
  { kernel, regions, locator, pokingAddress, responder }: WriteContext,
  event: VmiEvent,
): Promise<VmiEvent | undefined> {
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
    pointer = { old: decodeGate(vector, before).handler, new: decodeGate(vector, after).handler };
  } else {
    symbol =
      symbolName(kernel, entryAddress) ?? `_stext+0x${(entryAddress - region.start).toString(16)}`;
  }
  const modules = () => listModules(kernel).modules;
  const disassembly = pointer
    ? await codeAt(kernel, pointer.new)
    : await codeAt(kernel, entryAddress);
  // Patched code that now jumps or calls somewhere: name where (an inline hook's target).
  const jump = pointer ? undefined : branchTarget(disassembly);
  const written: VmiEvent = {
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
  if (!responder) return written;
  // The vCPU is held until the handler's promise settles, and the event leaves (and the rules run)
  // before that: a restore called then comes before the guest goes on. Later it is still done, but
  // says so.
  let held = true;
  setImmediate(() => (held = false));
  return markRestorable(written, {
    restore: () => {
      writeVirtual(kernel, responder, entryAddress, before);
      region.shadow.set(before, entry.offset);
      return {
        address: entryAddress,
        restored: hexBytes(before),
        replaced: hexBytes(after),
        vcpu_held: held,
      };
    },
  });
}

/** Writes kernel-virtual bytes page by page (a text write may straddle two frames). */
function writeVirtual(
  kernel: LinuxKernel,
  responder: DomainResponder,
  address: bigint,
  bytes: Uint8Array,
): void {
  let done = 0;
  while (done < bytes.length) {
    const at = address + BigInt(done);
    const translation = kernel.reader.space.translate(at);
    if (!translation.ok)
      throw new MemoryError(
        `cannot translate (${translation.fault})`,
        at,
        kernel.reader.space.name,
      );
    const count = Math.min(bytes.length - done, 4096 - Number(at & 4095n));
    responder.writePhysical(translation.physical, bytes.subarray(done, done + count));
    done += count;
  }
}
