// The guards around LibVMI's C API, against a recording fake of the library: they must hold where
// LibVMI is not installed, and before any call reaches C.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import koffi from 'koffi';
import { InputError, MemoryError, RingsideError } from '../../errors.js';
import { checkLibvmiAbi, LIBVMI_MISSING, loadLibvmi } from './bindings.js';
import { MemAccess } from './layouts.js';
import { LibvmiInstance } from './libvmi-instance.js';
import { LibvmiDomain } from './libvmi-domain.js';
import { fakeLibvmi } from './test-support/fake-libvmi.js';

// File mode checks its memory file before LibVMI sees it: the tests give it a real one.
const directory = mkdtempSync(join(tmpdir(), 'xen2-libvmi-'));
const raw = join(directory, 'guest.raw');
writeFileSync(raw, new Uint8Array(4096));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const open = (library = fakeLibvmi(), events = false) =>
  LibvmiInstance.open({
    mode: events ? 'xen' : 'file',
    domain: events ? 'vm' : raw,
    events,
    library,
  });

describe('loading libvmi.so', () => {
  it('says in one line what to install when the library is missing', () => {
    let error: unknown;
    try {
      loadLibvmi({ RINGSIDE_LIBVMI: '/nonexistent/libvmi.so' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RingsideError);
    expect((error as RingsideError).code).toBe('NOT_FOUND');
    const message = (error as RingsideError).message;
    expect(message.startsWith(LIBVMI_MISSING)).toBe(true);
    expect(message).toContain('/nonexistent/libvmi.so');
    expect(message).not.toContain('\n');
  });
});

describe('the LibVMI ABI check at load time', () => {
  it('refuses a library of another events ABI, naming it and both versions', () => {
    expect(() => checkLibvmiAbi(9, '/opt/libvmi/lib/libvmi.so')).not.toThrow();
    expect(() => checkLibvmiAbi(8, '/opt/libvmi/lib/libvmi.so')).toThrow(
      expect.objectContaining({
        code: 'UNSUPPORTED',
        message: expect.stringMatching(
          /^\/opt\/libvmi\/lib\/libvmi\.so has LibVMI's events ABI version 8; .* version 9/,
        ),
      }),
    );
  });
});

describe('LibvmiInstance guards', () => {
  it('refuses every call after destroy, and destroys once', () => {
    const library = fakeLibvmi();
    const instance = open(library);
    expect(instance.memorySize()).toBe(65536n);
    instance.destroy();
    instance.destroy();
    expect(library.calls.filter((call) => call === 'vmi_destroy')).toHaveLength(1);
    expect(() => instance.memorySize()).toThrow(/vmi_get_memsize after the instance was destroyed/);
    expect(() => instance.readPhysical(0n, new Uint8Array(8))).toThrow(RingsideError);
    expect(instance.destroyed).toBe(true);
    expect(library.calls.filter((call) => call === 'vmi_get_memsize')).toHaveLength(1);
  });

  it('refuses memory events on an instance opened without VMI_INIT_EVENTS, before C', () => {
    const library = fakeLibvmi();
    const instance = open(library, false);
    expect(() => instance.setMemoryEvent(0x10n, MemAccess.w)).toThrow(
      expect.objectContaining({
        code: 'CAPABILITY',
        message: expect.stringContaining('vmi_set_mem_event needs an instance opened with events'),
      }),
    );
    expect(() => instance.registerEvent(0x1234n)).toThrow(/VMI_INIT_EVENTS/);
    expect(library.calls).not.toContain('vmi_set_mem_event');
    expect(library.calls).not.toContain('vmi_register_event');
    // The same instance opened with events passes the call on.
    const eventsLibrary = fakeLibvmi();
    open(eventsLibrary, true).setMemoryEvent(0x10n, MemAccess.w, 2);
    expect(eventsLibrary.memEvents).toEqual([{ gfn: 0x10n, access: MemAccess.w, view: 2 }]);
  });

  it('destroys the instance itself when the OS init fails (vmi_init_complete would leak its fd)', () => {
    const library = fakeLibvmi();
    library.osResult = 0;
    expect(() =>
      LibvmiInstance.open({
        mode: 'file',
        domain: raw,
        profile: { isf: 'kernel.isf.json' },
        library,
      }),
    ).toThrow(/guest.raw: LibVMI's OS init failed with kernel.isf.json: .*profile/);
    expect(library.calls).toEqual(['vmi_init', 'vmi_init_os', 'vmi_destroy']);
  });

  it('frees the strings LibVMI allocates, and reads none at a null result', () => {
    const library = fakeLibvmi();
    const instance = open(library);
    expect(instance.readString(0xffff800000001000n)).toBe('string at 0xffff800000001000');
    expect(library.freed).toEqual([...library.strings.keys()]);
    expect(instance.readString(0n)).toBeUndefined();
    expect(library.freed).toHaveLength(1);
  });

  it('turns a short physical read into a MemoryError at the first unread byte', () => {
    const instance = open(fakeLibvmi(new Uint8Array(0x2000)));
    let error: unknown;
    try {
      instance.readPhysical(0x1ff0n, new Uint8Array(0x20));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(MemoryError);
    expect((error as MemoryError).address).toBe(0x2000n);
    expect((error as MemoryError).message).toContain(`libvmi:${raw}`);
  });

  it('file mode: a missing, empty or non-regular memory file is refused before LibVMI (its file driver double-frees)', () => {
    const library = fakeLibvmi();
    const empty = join(directory, 'empty.raw');
    writeFileSync(empty, '');
    const folder = join(directory, 'folder.raw');
    mkdirSync(folder, { recursive: true });
    for (const [path, message] of [
      [join(directory, 'missing', 'guest.raw'), /no such file/],
      [empty, /the file is empty/],
      [folder, /not a regular file/],
    ] as const) {
      const open = () => LibvmiInstance.open({ mode: 'file', domain: path, library });
      expect(open).toThrow(InputError);
      expect(open).toThrow(message);
    }
    expect(library.calls).not.toContain('vmi_init');
  });

  it('file mode: an ELF core or LiME dump is refused naming its format and the way out', () => {
    const library = fakeLibvmi();
    const elf = join(directory, 'guest.elf');
    writeFileSync(elf, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]));
    const lime = join(directory, 'guest.lime');
    writeFileSync(lime, Buffer.from([0x45, 0x4d, 0x69, 0x4c, 1, 0, 0, 0]));
    expect(() => LibvmiInstance.open({ mode: 'file', domain: elf, library })).toThrow(
      /an ELF core: LibVMI's file mode reads raw memory only; open it with Ringside's snapshot backend/,
    );
    expect(() => LibvmiInstance.open({ mode: 'file', domain: lime, library })).toThrow(
      /a LiME dump: LibVMI's file mode reads raw memory only/,
    );
    expect(library.calls).not.toContain('vmi_init');
  });

  it('KVMi: passes the introspection socket as VMI_INIT_DATA_KVMI_SOCKET, and refuses to open without one', () => {
    const library = fakeLibvmi();
    let seen: { count: bigint; type: bigint; path: string } | undefined;
    const init = library.vmi_init;
    library.vmi_init = (out, mode, domain, flags, initData, error) => {
      const data = initData === null ? undefined : Buffer.from(koffi.view(initData, 24));
      if (data)
        seen = {
          count: data.readBigUInt64LE(0),
          type: data.readBigUInt64LE(8),
          path: koffi.decode(data.readBigUInt64LE(16), 'char', -1) as string,
        };
      return init(out, mode, domain, flags, initData, error);
    };
    expect(() => LibvmiInstance.open({ mode: 'kvm', domain: 'vm', library })).toThrow(
      /KVMi mode needs the path of the guest's introspection socket/,
    );
    expect(library.calls).not.toContain('vmi_init');
    LibvmiInstance.open({ mode: 'kvm', domain: 'vm', kvmiSocket: '/run/vm.kvmi', library });
    expect(seen).toEqual({ count: 1n, type: 2n, path: '/run/vm.kvmi' });
  });

  it('refuses vmi_destroy while a listen is in flight, even from inside its callback', () => {
    const library = fakeLibvmi();
    const instance = open(library, true);
    let listening = true;
    let inCallback = true;
    // The listener's gate: other calls pass inside a callback, vmi_destroy never while listening.
    instance.setGate((destroying) =>
      listening && (destroying || !inCallback) ? 'vmi_events_listen is in flight' : undefined,
    );
    expect(instance.memorySize()).toBe(65536n);
    expect(() => instance.destroy()).toThrow(/vmi_destroy refused: vmi_events_listen is in flight/);
    inCallback = false;
    expect(() => instance.destroy()).toThrow(/vmi_destroy refused/);
    expect(library.calls).not.toContain('vmi_destroy');
    expect(instance.destroyed).toBe(false);
    listening = false;
    instance.destroy();
    expect(library.calls).toContain('vmi_destroy');
  });

  it('refuses calls while the gate is closed (a listen in flight on another thread)', () => {
    const instance = open();
    let busy: string | undefined = 'vmi_events_listen is running';
    instance.setGate(() => busy);
    expect(() => instance.memorySize()).toThrow(/vmi_get_memsize refused: vmi_events_listen/);
    busy = undefined;
    expect(instance.memorySize()).toBe(65536n);
  });
});

describe('LibvmiDomain capabilities', () => {
  it('file mode: not live, no traps; a memory hook fails naming what is missing', async () => {
    const library = fakeLibvmi();
    const domain = LibvmiDomain.open({ mode: 'file', domain: raw, library });
    expect(domain.capabilities).toEqual({
      live: false,
      memAccess: 'none',
      breakpoints: 'none',
      altp2m: 'none',
      registerWriteTraps: false,
      singlestep: false,
      captures: false,
      views: 1,
    });
    const errors: unknown[] = [];
    domain
      .hook({ kind: 'memory', frame: 1n, access: { w: true } })
      .subscribe({ error: (error) => errors.push(error) });
    domain.hook({ kind: 'exec', address: 0x1000n }).subscribe({ error: (e) => errors.push(e) });
    expect(errors.map((error) => (error as RingsideError).code)).toEqual([
      'CAPABILITY',
      'CAPABILITY',
    ]);
    expect((errors[0] as Error).message).toContain('file mode');
    expect(library.calls).not.toContain('vmi_set_mem_event');
    await domain.close();
    expect(library.calls).toContain('vmi_destroy');
  });

  it('KVMi declares what it lacks: no views, no hidden breakpoints', () => {
    const domain = LibvmiDomain.open({
      mode: 'kvm',
      domain: 'vm',
      kvmiSocket: '/run/vm.kvmi',
      events: true,
      library: fakeLibvmi(),
    });
    expect(domain.capabilities).toMatchObject({
      live: true,
      memAccess: 'ept',
      breakpoints: 'none',
      altp2m: 'none',
      views: 1,
    });
    return domain.close();
  });
});
