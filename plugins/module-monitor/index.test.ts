import { createHash } from 'node:crypto';
import { AARCH64, X86_64 } from '../../introspect/arch/index.js';
import { FakeLinux } from '../../introspect/os/linux/test-support/fake-linux.js';
import { readModule } from '../../introspect/os/linux/modules.js';
import { missingRequirements } from '../requirements.js';
import { collect, fakeGuest, hookHit } from '../test-support/fake-guest.js';
import { moduleTaints } from '../../introspect/os/linux/modules.js';
import { moduleMonitor, moduleTextHash, moduleTextSize } from './index.js';

const CODE = Uint8Array.from({ length: 0x300 }, (_, index) => (index * 7) & 0xff);

function world() {
  const linux = new FakeLinux();
  const text = linux.kernelText(['do_init_module', 'free_module']);
  const [insmod] = linux.process(500, 'insmod');
  const module = linux.module('rootkit', CODE, { size: 0x1000 });
  return {
    linux,
    load: `exec:${text.get('do_init_module')!.toString(16)}` as const,
    unload: `exec:${text.get('free_module')!.toString(16)}` as const,
    loadAddress: text.get('do_init_module')!,
    task: insmod!.task,
    module,
  };
}

describe('module-monitor', () => {
  it.each([
    ['x86-64', X86_64],
    ['AArch64', AARCH64],
  ] as const)(
    'reports a load with the SHA-256 of the module text, and an unload (%s)',
    async (_, arch) => {
      const { linux, load, unload, loadAddress, task, module } = world();
      const guest = fakeGuest(linux, arch);
      const { events } = collect(
        moduleMonitor.start({ domain: guest.domain, kernel: guest.kernel }),
      );
      expect(guest.domain.planted().map((spec) => spec.name)).toEqual([
        'do_init_module',
        'free_module',
      ]);
      const base = readModule(guest.kernel, module).base;
      await guest.domain.fire(load, hookHit(guest, { task, args: [module] }));
      await guest.domain.fire(unload, hookHit(guest, { task, args: [module] }));
      expect(events).toEqual([
        expect.objectContaining({
          type: 'module.load',
          process: expect.objectContaining({ pid: 500, name: 'insmod' }),
          module: {
            name: 'rootkit',
            base,
            size: 0x1000,
            sha256: createHash('sha256').update(CODE).digest('hex'),
          },
          vmi: { rip: loadAddress, hook: 'do_init_module', symbol: 'do_init_module' },
          details: { module_struct: module, taints: '' },
        }),
        expect.objectContaining({
          type: 'module.unload',
          module: { name: 'rootkit', base, size: 0x1000 },
        }),
      ]);
    },
  );

  it('hashes only the text (text_size), and skips a hash of an implausible size', () => {
    const { linux, module } = world();
    const kernel = linux.kernel();
    const info = readModule(kernel, module);
    expect(moduleTextSize(kernel, info)).toBe(CODE.length);
    linux.set32(module + 0x10cn, 0);
    expect(moduleTextHash(kernel, readModule(kernel, module))).toBeUndefined();
    linux.set32(module + 0x10cn, 0x7fff_ffff);
    expect(moduleTextHash(kernel, readModule(kernel, module))).toBeUndefined();
  });

  it('reports a module struct it cannot read as an unreadable module and goes on', async () => {
    const { linux, load, task, module } = world();
    const guest = fakeGuest(linux);
    const { events, errors } = collect(
      moduleMonitor.start({ domain: guest.domain, kernel: guest.kernel }),
    );
    await guest.domain.fire(load, hookHit(guest, { task, args: [0xffff_dead_0000_0000n] }));
    await guest.domain.fire(load, hookHit(guest, { task, args: [module] }));
    expect(errors).toEqual([]);
    expect(events.map((event) => [event.type, event.module?.name, event.details?.error])).toEqual([
      ['module.load', undefined, expect.stringMatching(/^could not read the module: /)],
      ['module.load', 'rootkit', undefined],
    ]);
  });

  it('judges a snapshot: the listed modules that taint the kernel (out of tree, unsigned), no other', async () => {
    const linux = new FakeLinux();
    linux.module('loop', CODE);
    linux.module('staging', CODE, { taints: 1n << 10n });
    const rootkit = linux.module('rootkit', CODE, { taints: (1n << 12n) | (1n << 13n) });
    const kernel = linux.kernel();
    expect(moduleTaints(kernel, readModule(kernel, rootkit))).toBe('OE');
    const events = await moduleMonitor.judge!({ kernel, domain: 'g', cpus: [], timestamp: 't' });
    expect(events).toEqual([
      expect.objectContaining({
        type: 'module.load',
        module: expect.objectContaining({
          name: 'rootkit',
          sha256: createHash('sha256').update(CODE).digest('hex'),
        }),
        details: { module_struct: rootkit, taints: 'OE', source: 'module list' },
      }),
    ]);
  });

  it('removes both hooks on unsubscribe', () => {
    const { linux } = world();
    const guest = fakeGuest(linux);
    collect(
      moduleMonitor.start({ domain: guest.domain, kernel: guest.kernel }),
    ).subscription.unsubscribe();
    expect(guest.domain.planted()).toEqual([]);
    expect(guest.domain.removedLog).toHaveLength(2);
  });

  it('is refused when free_module is missing', () => {
    const linux = new FakeLinux();
    linux.kernelText(['do_init_module']);
    const guest = fakeGuest(linux);
    expect(missingRequirements(moduleMonitor, guest.kernel, guest.domain)).toEqual([
      'kernel symbol free_module is missing',
    ]);
  });
});
