// LibVMI in file mode on a raw snapshot of the sample guest, with the ISF Ringside exports from that
// same snapshot: LibVMI's task list, KASLR offset, translations and reads must equal Ringside's own
// snapshot backend on the same file. Runs only where libvmi.so is installed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSampleGuest } from '../../../lab/guest/launch.js';
import { writeIsf } from '../../os/linux/isf/index.js';
import { openLinuxKernel, type LinuxKernel } from '../../os/linux/linux-kernel.js';
import { listTasks, type TaskInfo } from '../../os/linux/tasks.js';
import { PagedAddressSpace } from '../../memory/paged-address-space.js';
import { openSnapshot, type Snapshot } from '../snapshot/index.js';
import { libvmiAvailable, loadLibvmi } from './bindings.js';
import { LibvmiDomain } from './libvmi-domain.js';
import { listLibvmiTasks } from './test-support/libvmi-tasks.js';

const why = (() => {
  try {
    loadLibvmi();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
})();
if (why !== undefined)
  process.stderr.write(`skipping the LibVMI integration tests: ${why.split(';')[0]}\n`);
const describeWithLibvmi = libvmiAvailable() ? describe : describe.skip;

describeWithLibvmi(
  `LibVMI file mode on the sample guest${why ? ' (skipped: libvmi.so is not installed)' : ''}`,
  () => {
    let dir: string;
    let snapshot: Snapshot;
    let kernel: LinuxKernel;
    let domain: LibvmiDomain;
    let ringsideTasks: TaskInfo[];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'ringside-libvmi-'));
      const raw = join(dir, 'guest.raw');
      const guest = await startSampleGuest({ name: 'it-libvmi', plugin: false });
      try {
        const qmp = await guest.qmp();
        await qmp.execute('stop');
        await qmp.execute('pmemsave', { val: 0, size: 256 << 20, filename: raw });
        qmp.close();
      } finally {
        await guest.stop();
      }
      snapshot = openSnapshot(raw);
      kernel = openLinuxKernel(snapshot.memory, snapshot.layout.vcpus);
      ringsideTasks = listTasks(kernel).tasks;
      const isf = join(dir, 'kernel.isf.json');
      writeFileSync(
        isf,
        writeIsf({
          types: kernel.types,
          symbols: kernel.symbols,
          banner: kernel.banner,
          slide: kernel.slide,
        }),
      );
      domain = LibvmiDomain.open({ mode: 'file', domain: raw, profile: { isf } });
    }, 300_000);

    afterAll(async () => {
      await domain?.close();
      snapshot?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('initialises Linux from the ISF Ringside exported, with the same KASLR offset', () => {
      expect(domain.instance.os).toBe('linux');
      expect(domain.instance.pageMode()).toBe('ia32e');
      expect(domain.instance.offset('linux_kaslr')).toBe(kernel.slide);
      expect(domain.instance.symbolAddress('init_task')).toBe(kernel.symbols.address('init_task'));
      // The banner in memory ends in a newline that Ringside's banner leaves out.
      expect(domain.instance.readString(kernel.symbols.address('linux_banner')!)).toBe(
        `${kernel.banner}\n`,
      );
      expect(domain.instance.memorySize()).toBe(256n << 20n);
    });

    it('lists the same tasks as Ringside (LibVMI also lists init_task itself)', () => {
      const libvmi = listLibvmiTasks(domain.instance);
      expect(libvmi[0]).toMatchObject({ pid: 0, address: kernel.symbols.address('init_task') });
      const ours = ringsideTasks.map((task) => ({
        address: task.address,
        pid: task.pid,
        comm: task.comm,
      }));
      expect(ours.length).toBeGreaterThan(40);
      expect(libvmi.slice(1)).toEqual(ours);
    });

    it('translates kernel and user addresses as Ringside does', () => {
      const kernelAddresses = [
        kernel.symbols.address('init_task')!,
        kernel.symbols.address('sys_call_table')!,
        kernel.symbols.address('_text')!,
        ...ringsideTasks.map((task) => task.address),
      ];
      for (const address of kernelAddresses) {
        const ours = kernel.reader.space.translate(address);
        expect({ address, physical: domain.instance.translateKernel(address) }).toEqual({
          address,
          physical: ours.ok ? ours.physical : undefined,
        });
        expect(domain.instance.pagetableLookup(kernel.root, address)).toBe(
          ours.ok ? ours.physical : undefined,
        );
      }
      // User space: each process's stack top and code start, through its own page tables.
      let compared = 0;
      for (const task of ringsideTasks.filter((task) => !task.kernelThread).slice(0, 10)) {
        const space = new PagedAddressSpace(
          snapshot.memory,
          task.pageTableRoot!,
          kernel.image.translator,
        );
        for (const field of ['start_stack', 'start_code', 'start_brk']) {
          const address = kernel.reader.fieldValue(task.mm, 'mm_struct', field);
          const ours = space.translate(address);
          expect({
            pid: task.pid,
            field,
            physical: domain.instance.translateUser(address, task.pid),
          }).toEqual({ pid: task.pid, field, physical: ours.ok ? ours.physical : undefined });
          if (ours.ok) {
            compared++;
            // And the bytes there, read through the process's page tables (access_context_t).
            const theirs = new Uint8Array(64);
            domain.instance.readVirtualWithTable(task.pageTableRoot!, address, theirs);
            const mine = new Uint8Array(64);
            space.readInto(address, mine);
            expect(Buffer.compare(theirs, mine)).toBe(0);
          }
        }
      }
      expect(compared).toBeGreaterThan(5);
    });

    it('reads the same bytes as the snapshot backend', () => {
      const ours = new Uint8Array(1 << 20);
      const theirs = new Uint8Array(1 << 20);
      for (const address of [0n, 0x1000000n, 0x6e00000n, (256n << 20n) - (1n << 20n)]) {
        snapshot.memory.readInto(address, ours);
        domain.physical.readInto(address, theirs);
        expect(Buffer.compare(ours, theirs)).toBe(0);
      }
      expect(() => domain.physical.readInto(256n << 20n, new Uint8Array(8))).toThrow(
        /LibVMI could not read/,
      );
    });
  },
);

describeWithLibvmi('LibVMI file mode on hostile paths (real libvmi.so)', () => {
  it('refuses a missing memory file before LibVMI, whose file driver crashes Node on it (SIGSEGV)', () => {
    // In a child process: a regression is a segfault there, not a dead test runner here.
    const script = `
      const { LibvmiDomain } = await import(${JSON.stringify(new URL('./libvmi-domain.ts', import.meta.url).href)});
      try { LibvmiDomain.open({ mode: 'file', domain: '/nonexistent/ringside/guest.raw' }); }
      catch (error) { console.log(error.code + ' ' + error.message); }`;
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '--eval', script],
      { encoding: 'utf8', env: process.env },
    );
    expect(child.signal).toBeNull();
    expect(child.status).toBe(0);
    expect(child.stdout.trim()).toBe('BAD_INPUT /nonexistent/ringside/guest.raw: no such file');
  });
});
