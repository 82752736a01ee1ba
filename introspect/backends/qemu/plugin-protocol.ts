// The wire protocol between Ringside and its TCG plugin inside QEMU (plugin/ringside-tcg.c): frames of
// u32 length, u8 type and a little-endian payload. Pure encode/decode functions, tested on bytes.

export const PROTOCOL_VERSION = 1;

export enum MessageType {
  Hello = 1,
  Hit = 2,
  Ack = 3,
  Stats = 4,
  Resume = 10,
  SetExecHooks = 11,
  SetWatches = 12,
  SwitchView = 13,
  SetRegisterTraps = 14,
  GetStats = 15,
  /** Use the hit ring (a shared file) for held hits; an empty path goes back to the socket. */
  AttachRing = 16,
}

export enum HitKind {
  ExecHook = 1,
  MemoryAccess = 2,
  ExecWatch = 3,
  RegisterWrite = 4,
  /** An exec hook that does not hold the vCPU: nobody answers it. */
  ExecNotify = 5,
}

/**
 * A value the plugin reads in the guest at an exec hook, before the vCPU goes on: from a register
 * (index into the Hello's register list), through `derefs` pointers (each read at +offset), then
 * up to `length` bytes (at most 1024) at +`offset` — fewer when the read runs into an unmapped page.
 */
export interface CaptureSpec {
  register: number;
  derefs: number[];
  offset: number;
  length: number;
}

export interface ExecHookEntry {
  address: bigint;
  id: number;
  /** Report without holding the vCPU. */
  notify?: boolean;
  /** Report only when these two captures differ (or either could not be read). */
  differ?: [number, number];
  captures?: CaptureSpec[];
}

export const MAX_CAPTURES = 12;
export const MAX_CAPTURE_DEREFS = 4;
export const MAX_CAPTURE_BYTES = 1024;

/** Access bits of a trap: which accesses to a frame are reported. */
/** Access bits of a watch; `kernel`: reads and writes count only from kernel-mode code. */
export const ACCESS = { r: 1, w: 2, x: 4, kernel: 8 } as const;

/** Register-trap mask bits: CR0, CR3, CR4 (by CR number) and MSR writes. */
export const REGISTER_TRAP = { cr0: 1 << 0, cr3: 1 << 3, cr4: 1 << 4, msr: 1 << 8 } as const;

export interface Hello {
  type: MessageType.Hello;
  version: number;
  vcpus: number;
  views: number;
  registers: string[];
}

export interface Hit {
  type: MessageType.Hit;
  sequence: number;
  kind: HitKind;
  vcpu: number;
  view: number;
  /** Exec hook id; for register writes the CR number, or 0x100 for an MSR. */
  hook: number;
  /** Guest-physical address (traps) or the register/MSR index (register writes). */
  address: bigint;
  /** Virtual address of a memory access, or the new value of a register write. */
  aux1: bigint;
  /** Memory access: size << 8 | access bit. */
  aux2: bigint;
  registers: bigint[];
  /** Capture values of an exec hook, in its order; undefined where the read faulted. */
  captures?: (Uint8Array | undefined)[];
}

export interface Ack {
  type: MessageType.Ack;
  sequence: number;
}

export interface Stats {
  type: MessageType.Stats;
  sequence: number;
  hits: bigint;
  timeouts: bigint;
  flushes: bigint;
  dropped: bigint;
  holdNanosTotal: bigint;
  holdNanosMax: bigint;
  execHooks: number;
  /** Median hold of the last 4096 hits (vCPU held until resumed). */
  holdNanosMedian: bigint;
  /** Hits reported without holding the vCPU. */
  notified: bigint;
  /** Hits the plugin dropped itself (their captures did not differ). */
  filtered: bigint;
  /** 99th percentile of the same holds, and how many holds the median and p99 cover. */
  holdNanosP99: bigint;
  holdSamples: bigint;
  /** Held hits sent through the hit ring, and those of them that timed out. */
  ringHits: bigint;
  ringTimeouts: bigint;
}

export type PluginMessage = Hello | Hit | Ack | Stats;

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

class Reader {
  private offset = 0;
  constructor(private readonly view: DataView) {}
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.offset++);
  }
  u32(): number {
    this.need(4);
    const value = this.view.getUint32(this.offset, true);
    this.offset += 4;
    return value;
  }
  u64(): bigint {
    this.need(8);
    const value = this.view.getBigUint64(this.offset, true);
    this.offset += 8;
    return value;
  }
  u16(): number {
    this.need(2);
    const value = this.view.getUint16(this.offset, true);
    this.offset += 2;
    return value;
  }
  get remaining(): number {
    return this.view.byteLength - this.offset;
  }
  bytes(length: number): Uint8Array {
    this.need(length);
    const out = new Uint8Array(this.view.buffer, this.view.byteOffset + this.offset, length);
    this.offset += length;
    return out;
  }
  private need(count: number): void {
    if (this.offset + count > this.view.byteLength)
      throw new ProtocolError('message shorter than its fields');
  }
}

/** Decodes one frame body (type byte and payload, without the length). */
export function decodeMessage(body: Uint8Array): PluginMessage {
  const reader = new Reader(new DataView(body.buffer, body.byteOffset, body.byteLength));
  const type = reader.u8();
  switch (type) {
    case MessageType.Hello: {
      const version = reader.u32();
      const vcpus = reader.u32();
      const views = reader.u32();
      const count = reader.u32();
      if (count > 256) throw new ProtocolError(`implausible register count ${count}`);
      const registers: string[] = [];
      for (let index = 0; index < count; index++)
        registers.push(Buffer.from(reader.bytes(reader.u8())).toString('latin1'));
      return { type, version, vcpus, views, registers };
    }
    case MessageType.Hit: {
      const sequence = reader.u32();
      const kind = reader.u8() as HitKind;
      const vcpu = reader.u32();
      const view = reader.u32();
      const hook = reader.u32();
      const address = reader.u64();
      const aux1 = reader.u64();
      const aux2 = reader.u64();
      const count = reader.u32();
      if (count > 256) throw new ProtocolError(`implausible register count ${count}`);
      const registers: bigint[] = [];
      for (let index = 0; index < count; index++) registers.push(reader.u64());
      const hit: Hit = { type, sequence, kind, vcpu, view, hook, address, aux1, aux2, registers };
      if (reader.remaining > 0) {
        const captured = reader.u8();
        if (captured > MAX_CAPTURES)
          throw new ProtocolError(`implausible capture count ${captured}`);
        hit.captures = [];
        for (let index = 0; index < captured; index++) {
          const ok = reader.u8() === 1;
          const bytes = reader.bytes(reader.u16()).slice();
          hit.captures.push(ok ? bytes : undefined);
        }
      }
      return hit;
    }
    case MessageType.Ack:
      return { type, sequence: reader.u32() };
    case MessageType.Stats:
      return {
        type,
        sequence: reader.u32(),
        hits: reader.u64(),
        timeouts: reader.u64(),
        flushes: reader.u64(),
        dropped: reader.u64(),
        holdNanosTotal: reader.u64(),
        holdNanosMax: reader.u64(),
        execHooks: reader.u32(),
        holdNanosMedian: reader.u64(),
        notified: reader.remaining >= 8 ? reader.u64() : 0n,
        filtered: reader.remaining >= 8 ? reader.u64() : 0n,
        holdNanosP99: reader.remaining >= 8 ? reader.u64() : 0n,
        holdSamples: reader.remaining >= 8 ? reader.u64() : 0n,
        ringHits: reader.remaining >= 8 ? reader.u64() : 0n,
        ringTimeouts: reader.remaining >= 8 ? reader.u64() : 0n,
      };
    default:
      throw new ProtocolError(`unknown message type ${type}`);
  }
}

class Writer {
  private buffer = Buffer.alloc(64);
  private length = 4; // room for the frame length
  private ensure(count: number): void {
    if (this.length + count <= this.buffer.length) return;
    const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + count));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
  u8(value: number): this {
    this.ensure(1);
    this.buffer.writeUInt8(value, this.length);
    this.length += 1;
    return this;
  }
  u32(value: number): this {
    this.ensure(4);
    this.buffer.writeUInt32LE(value >>> 0, this.length);
    this.length += 4;
    return this;
  }
  u16(value: number): this {
    this.ensure(2);
    this.buffer.writeUInt16LE(value, this.length);
    this.length += 2;
    return this;
  }
  i32(value: number): this {
    this.ensure(4);
    this.buffer.writeInt32LE(value, this.length);
    this.length += 4;
    return this;
  }
  u64(value: bigint): this {
    this.ensure(8);
    this.buffer.writeBigUInt64LE(BigInt.asUintN(64, value), this.length);
    this.length += 8;
    return this;
  }
  frame(): Buffer {
    this.buffer.writeUInt32LE(this.length - 4, 0);
    return this.buffer.subarray(0, this.length);
  }
}

export const encodeResume = (sequence: number): Buffer =>
  new Writer().u8(MessageType.Resume).u32(sequence).frame();

export function encodeSetExecHooks(sequence: number, hooks: readonly ExecHookEntry[]): Buffer {
  const writer = new Writer().u8(MessageType.SetExecHooks).u32(sequence).u32(hooks.length);
  for (const hook of hooks) {
    if (hook.id <= 0) throw new RangeError('hook ids start at 1');
    const captures = hook.captures ?? [];
    if (captures.length > MAX_CAPTURES)
      throw new RangeError(`at most ${MAX_CAPTURES} captures per hook`);
    if (hook.differ && hook.differ.some((index) => index >= captures.length))
      throw new RangeError('differ names a capture the hook does not have');
    writer
      .u64(hook.address)
      .u32(hook.id)
      .u8((hook.notify ? 1 : 0) | (hook.differ ? 2 : 0))
      .u8(hook.differ?.[0] ?? 0)
      .u8(hook.differ?.[1] ?? 0)
      .u8(captures.length);
    for (const capture of captures) {
      if (capture.derefs.length > MAX_CAPTURE_DEREFS)
        throw new RangeError(`at most ${MAX_CAPTURE_DEREFS} dereferences per capture`);
      if (capture.length <= 0 || capture.length > MAX_CAPTURE_BYTES)
        throw new RangeError(`a capture reads 1 to ${MAX_CAPTURE_BYTES} bytes`);
      writer.u8(capture.register).u8(capture.derefs.length);
      for (const offset of capture.derefs) writer.i32(offset);
      writer.i32(capture.offset).u16(capture.length);
    }
  }
  return writer.frame();
}

export function encodeSetWatches(
  sequence: number,
  view: number,
  frames: readonly { frame: bigint; access: number }[],
): Buffer {
  const writer = new Writer().u8(MessageType.SetWatches).u32(sequence).u32(view).u32(frames.length);
  for (const entry of frames) writer.u64(entry.frame).u8(entry.access);
  return writer.frame();
}

export const encodeSwitchView = (sequence: number, vcpu: number, view: number): Buffer =>
  new Writer().u8(MessageType.SwitchView).u32(sequence).u32(vcpu).u32(view).frame();

export const encodeSetRegisterTraps = (sequence: number, mask: number): Buffer =>
  new Writer().u8(MessageType.SetRegisterTraps).u32(sequence).u32(mask).frame();

/** `reset`: the hold samples (median, p99) start afresh after this report. */
export const encodeGetStats = (sequence: number, reset = false): Buffer =>
  new Writer()
    .u8(MessageType.GetStats)
    .u32(sequence)
    .u8(reset ? 1 : 0)
    .frame();

export function encodeAttachRing(sequence: number, path: string): Buffer {
  const bytes = Buffer.from(path, 'utf8');
  if (bytes.length >= 4096) throw new RangeError('ring path too long');
  const writer = new Writer().u8(MessageType.AttachRing).u32(sequence).u16(bytes.length);
  for (const byte of bytes) writer.u8(byte);
  return writer.frame();
}

/** Splits a byte stream into frame bodies; keeps an incomplete tail for the next chunk. */
export class FrameSplitter {
  private pending: Buffer = Buffer.alloc(0);
  constructor(private readonly maxFrame = 16 << 20) {}
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    let offset = 0;
    while (this.pending.length - offset >= 4) {
      const length = this.pending.readUInt32LE(offset);
      if (length === 0 || length > this.maxFrame)
        throw new ProtocolError(`bad frame length ${length}`);
      if (this.pending.length - offset - 4 < length) break;
      frames.push(this.pending.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    this.pending = this.pending.subarray(offset);
    return frames;
  }
}
