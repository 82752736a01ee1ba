// A stand-in for libvmi.so that records its calls: enough of the C API for the guards, the event
// listener and the Domain to be tested where LibVMI is not installed. Registered events are real
// C-layout structures (koffi memory), and their callbacks are called through the C function pointer.
import koffi from 'koffi';
import type { LibvmiFunctions } from '../bindings.js';
import { EventCallback, VmiEventStruct } from '../layouts.js';

export interface FakeLibvmi extends LibvmiFunctions {
  calls: string[];
  /** Status vmi_init_os returns (an os_t: 1 = Linux, 0 = unknown). */
  osResult: number;
  /** Events registered and not cleared, by pointer. */
  registered: Set<bigint>;
  memEvents: { gfn: bigint; access: number; view: number }[];
  freed: bigint[];
  /** Status vmi_clear_event returns (LibVMI keeps the event registered when it fails). */
  clearStatus: number;
  /** When set, the next asynchronous vmi_events_listen fails with it (as koffi reports a crash). */
  listenError: Error | undefined;
  /** Calls the callback of a registered event as LibVMI would, after filling the event in. */
  fire(pointer: bigint, fill: Record<string, unknown>): number;
  /** Strings vmi_read_str_va hands out (kept alive here), by address. */
  strings: Map<bigint, Buffer>;
  /**
   * Has the next vmi_events_listen deliver this event from another thread, as LibVMI does: the
   * listen is libc's qsort run as a koffi async call on a worker thread over two copies of the
   * event, whose comparator is the event's callback (same ABI: two pointers in, an int out).
   */
  queue(pointer: bigint, fill: Record<string, unknown>): void;
}

const libc = koffi.load('libc.so.6');
const qsort = libc.func('void qsort(void *base, size_t count, size_t size, void *compare)');

const HANDLE = 0x1000n;

export function fakeLibvmi(memory = new Uint8Array(1 << 16)): FakeLibvmi {
  const calls: string[] = [];
  const record =
    <A extends unknown[], R>(name: string, body: (...args: A) => R) =>
    (...args: A): R => {
      calls.push(name);
      return body(...args);
    };
  const ok = (name: string) => record(name, () => 0);
  const strings = new Map<bigint, Buffer>();
  const queued: { pointer: bigint; fill: Record<string, unknown> }[] = [];
  const inFlight = new Set<Buffer>();
  const fake: Partial<FakeLibvmi> = {
    calls,
    osResult: 1,
    registered: new Set(),
    memEvents: [],
    freed: [],
    clearStatus: 0,
    listenError: undefined,
    strings,
    vmi_init: record('vmi_init', (out: [bigint | null]) => {
      out[0] = HANDLE;
      return 0;
    }),
    vmi_init_os: record('vmi_init_os', (_vmi, _mode, _config, error: [number]) => {
      if (fake.osResult === 0) error[0] = 5;
      return fake.osResult!;
    }),
    vmi_destroy: ok('vmi_destroy'),
    vmi_get_memsize: record('vmi_get_memsize', () => BigInt(memory.length)),
    vmi_get_max_physical_address: record('vmi_get_max_physical_address', () =>
      BigInt(memory.length),
    ),
    vmi_read_pa: record(
      'vmi_read_pa',
      (_vmi, address: bigint, count: number, buffer: Uint8Array, read: BigUint64Array) => {
        const start = Number(address);
        const available = Math.max(0, Math.min(count, memory.length - start));
        buffer.set(memory.subarray(start, start + available));
        read[0] = BigInt(available);
        return available === count ? 0 : 1;
      },
    ),
    vmi_read_str_va: record('vmi_read_str_va', (_vmi, address: bigint) => {
      if (address === 0n) return null;
      const text = Buffer.from(`string at 0x${address.toString(16)}\0`);
      const pointer = koffi.address(text);
      strings.set(pointer, text);
      return pointer;
    }),
    free: (pointer) => {
      fake.freed!.push(pointer as bigint);
    },
    vmi_translate_kv2p: record(
      'vmi_translate_kv2p',
      (_vmi, address: bigint, out: BigUint64Array) => {
        out[0] = address & 0xfffffn;
        return 0;
      },
    ),
    vmi_pause_vm: ok('vmi_pause_vm'),
    vmi_resume_vm: ok('vmi_resume_vm'),
    vmi_set_mem_event: record(
      'vmi_set_mem_event',
      (_vmi, gfn: bigint, access: number, view: number) => {
        fake.memEvents!.push({ gfn, access, view });
        return 0;
      },
    ),
    vmi_register_event: record('vmi_register_event', (_vmi, event: bigint) => {
      fake.registered!.add(event);
      return 0;
    }),
    vmi_clear_event: record('vmi_clear_event', (_vmi, event: bigint) => {
      if (fake.clearStatus !== 0) return fake.clearStatus!;
      fake.registered!.delete(event);
      return 0;
    }),
    vmi_events_listen: Object.assign(
      record('vmi_events_listen', () => 0),
      {
        async: (_vmi: unknown, timeout: number, done: (error: unknown, status: number) => void) => {
          calls.push('vmi_events_listen.async');
          const failure = fake.listenError;
          if (failure) {
            fake.listenError = undefined;
            setTimeout(() => done(failure, 1), 1);
            return;
          }
          const next = queued.shift();
          if (!next) {
            setTimeout(() => done(null, 0), Math.min(timeout, 5));
            return;
          }
          const event = { ...koffi.decode(next.pointer, VmiEventStruct), ...next.fill };
          const size = koffi.sizeof(VmiEventStruct);
          const events = Buffer.alloc(2 * size);
          koffi.encode(events, 0, VmiEventStruct, event);
          koffi.encode(events, size, VmiEventStruct, event);
          inFlight.add(events);
          qsort.async(events, 2, size, event.callback, (error: unknown) => {
            inFlight.delete(events);
            done(error, 0);
          });
        },
      },
    ) as LibvmiFunctions['vmi_events_listen'],
    queue(pointer, fill) {
      queued.push({ pointer, fill });
    },
    fire(pointer, fill) {
      koffi.encode(pointer, VmiEventStruct, {
        ...koffi.decode(pointer, VmiEventStruct),
        ...fill,
      });
      const callback = koffi.decode(pointer, VmiEventStruct).callback as bigint;
      return koffi.call(callback, EventCallback, HANDLE, pointer) as number;
    },
  };
  // Everything else fails loudly, as an unexpected call should.
  return new Proxy(fake as FakeLibvmi, {
    get(target, property) {
      if (typeof property !== 'string' || property === 'then') return undefined;
      if (property in target) return target[property as keyof FakeLibvmi];
      return () => {
        throw new Error(`the fake libvmi does not implement ${property}`);
      };
    },
  });
}
