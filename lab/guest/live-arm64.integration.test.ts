// The live QEMU backend on the ARM64 sample guest: the TCG plugin inside qemu-system-aarch64 (AArch64
// registers, RAM at 0x4000_0000), the exec monitor's events against what the guest ran, and
// `ringside ps` against the guest's own process list.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { VmiEvent } from '../../introspect/events/event.js';
import { QemuDomain } from '../../introspect/backends/qemu/qemu-domain.js';
import { checkIntegrity } from '../../introspect/os/linux/integrity.js';
import { openLiveKernel } from '../../introspect/os/linux/live-kernel.js';
import { execMonitor } from '../../plugins/exec-monitor/index.js';
import { DETECTORS, runnableDetectors, startDetectors } from '../../plugins/index.js';
import type { GuestControl } from './control.js';
import { startSampleGuest, type RunningGuest } from './launch.js';

const repo = join(import.meta.dirname ?? '.', '..', '..');
const cli = join(repo, 'dist', 'cli', 'main.js');

let guest: RunningGuest;
let control: GuestControl;

beforeAll(async () => {
  guest = await startSampleGuest({ name: 'it-live-arm64', architecture: 'aarch64' });
  control = await guest.control();
}, 240_000);

afterAll(async () => {
  control?.close();
  await guest?.stop();
});

/** The ARM64 guest through Ringside's plugin, its RAM at the virt base. */
const attach = async (): Promise<QemuDomain> =>
  QemuDomain.attach({
    name: 'it-live-arm64',
    pluginSocket: guest.endpoints.pluginSocket!,
    ramFile: guest.endpoints.ramFile,
    ramBase: guest.ramBase,
    qmp: await guest.qmp(),
  });

describe('the live ARM64 guest', () => {
  it('ringside ps lists the guest’s processes from its RAM file at the virt RAM base', () => {
    const result = spawnSync(
      process.execPath,
      [
        cli,
        'ps',
        '--json',
        '--ram',
        guest.endpoints.ramFile,
        '--ram-base',
        '0x40000000',
        '--qmp',
        guest.endpoints.qmpSocket,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const rows = JSON.parse(result.stdout) as { pid: number; ppid: number; uid: number }[];
    const userProcesses = guest.view.processes.filter((entry) => entry.ppid > 2);
    expect(userProcesses.length).toBeGreaterThan(0); // the guest's own view is not empty
    for (const process of userProcesses) {
      expect(rows).toContainEqual(
        expect.objectContaining({ pid: process.pid, ppid: process.ppid, uid: process.uid }),
      );
    }
  });

  it('the exec monitor sees every execve once, with parent, uid, filename and argv (AArch64 registers)', async () => {
    const domain = await attach();
    try {
      const kernel = openLiveKernel(domain, { architecture: 'aarch64' });
      expect(kernel.release).toBe(guest.view.release);
      const events: VmiEvent[] = [];
      const subscription = execMonitor
        .start({ domain, kernel })
        .subscribe((event) => events.push(event));
      await domain.synced();
      await control.run(
        "for i in $(seq 25); do /bin/true marker $i; done; su -s /bin/sh app -c '/bin/true as-app'",
      );
      subscription.unsubscribe();
      expect(events.filter((event) => event.details?.error !== undefined)).toEqual([]);
      const markers = events.filter(
        (event) =>
          event.process?.executable === '/bin/true' && event.process.args?.[1] === 'marker',
      );
      expect(markers.map((event) => event.process!.args![2])).toEqual(
        Array.from({ length: 25 }, (_, index) => String(index + 1)),
      );
      const shell = events.find(
        (event) =>
          event.process?.args?.[0] === 'sh' && event.process.command_line?.includes('marker'),
      );
      expect(shell).toBeDefined();
      for (const event of markers) {
        // The event is the new program's: its name is already the one it runs as.
        expect(event.process).toMatchObject({ ppid: shell!.process!.pid, name: 'true' });
        expect(event.user).toMatchObject({ id: 0, effective_id: 0 });
        expect(event.process!.pid).not.toBe(shell!.process!.pid);
        // The hook fired at setup_new_exec, where the PC is.
        expect(event.vmi).toMatchObject({ rip: kernel.symbols.address('setup_new_exec') });
      }
      const asApp = events.find((event) => event.process?.args?.[1] === 'as-app');
      expect(asApp?.user).toMatchObject({ id: 1000, group_id: 1000 });

      // The registers a hit carries: TTBR1_EL1 is the table the kernel search found, and VBAR_EL1
      // (the integrity target that plays the IDT's role) points at the kernel's vectors.
      const hits: Record<string, bigint>[] = [];
      const raw = domain
        .hook({ kind: 'exec', address: kernel.symbols.address('bprm_execve')! })
        .subscribe(({ event }) => hits.push(event.registers ?? {}));
      await domain.synced();
      await control.run('/bin/true; /bin/true');
      raw.unsubscribe();
      await domain.synced();
      expect(hits.length).toBeGreaterThanOrEqual(2);
      for (const registers of hits) {
        expect(registers.ttbr1_el1! & 0xffff_ffff_fffen).toBe(kernel.root);
        expect(registers.vbar_el1).toBe(kernel.symbols.address('vectors'));
      }
      expect(
        checkIntegrity(
          kernel,
          hits.map((registers, vcpu) => ({ vcpu, vbar: registers.vbar_el1! })),
        ),
      ).toEqual([]);
      // Control-register traps are decoded for x86-64 only, and the domain says so.
      expect(domain.capabilities.registerWriteTraps).toBe(false);
    } finally {
      await domain.close();
    }
  });

  it('every detector reads AArch64 registers through the descriptor; the x86-only one is refused up front', async () => {
    const domain = await attach();
    try {
      const kernel = openLiveKernel(domain, { architecture: 'aarch64' });
      const all = Object.values(DETECTORS);
      // Asked for all of them, the host refuses before planting anything, naming the one.
      expect(() => startDetectors(all, { domain, kernel })).toThrow(
        /plugin kernel-integrity cannot run on it-live-arm64: capability registerWriteTraps must be true/,
      );
      const { runnable, refused } = runnableDetectors(all, { domain, kernel });
      // Refused each with its reason: x86's register traps, and two symbols this arm64 kernel's
      // kallsyms lacks (no CONFIG_KALLSYMS_ALL: no data symbols).
      expect([...refused].sort()).toEqual([
        expect.stringMatching(
          /^plugin bpf-programs cannot run on it-live-arm64: kernel symbol prog_idr is missing/,
        ),
        expect.stringMatching(
          /^plugin kernel-integrity cannot run on it-live-arm64: capability registerWriteTraps/,
        ),
        expect.stringMatching(
          /^plugin namespace-escape cannot run on it-live-arm64: kernel symbol init_nsproxy is missing/,
        ),
      ]);
      expect(runnable.map((plugin) => plugin.meta.id).sort()).toEqual([
        'code-injection',
        'cred-monitor',
        'exec-monitor',
        'function-hooks',
        'hidden-module',
        'hidden-process',
        'kthread-masquerade',
        'module-monitor',
        'network-monitor',
        'process-exit',
      ]);
      const events: VmiEvent[] = [];
      const subscription = startDetectors(runnable, { domain, kernel }).subscribe((event) =>
        events.push(event),
      );
      await domain.synced();
      // The guest's loopback is down: the connect attempt fails, but it is made (and seen).
      await control.run(
        "/bin/sh -c 'exit 3'; su -s /bin/sh app -c '/bin/true as-app'; nc -w 1 127.0.0.1 9 </dev/null; true",
      );
      subscription.unsubscribe();
      await domain.synced();
      expect(events.filter((event) => event.details?.error !== undefined)).toEqual([]);
      // do_exit's first argument (x0): the shell that exited with 3.
      const exited = events.filter(
        (event) => event.type === 'process.exit' && event.details?.exit_code === 3,
      );
      expect(exited.length).toBeGreaterThanOrEqual(1);
      expect(exited[0]!.process?.name).toBe('sh');
      // commit_creds(new) in x0, the old credentials from the task in SP_EL0: su switching to app.
      const switched = events.filter(
        (event) => event.type === 'cred.change' && event.user?.id === 1000,
      );
      expect(switched.length).toBeGreaterThanOrEqual(1);
      expect(switched[0]!.user).toMatchObject({ previous_id: 0, group_id: 1000 });
      // tcp_v4_connect(sk, uaddr, len): the sockaddr from x1, its length from x2.
      const connects = events.filter((event) => event.type === 'network.connect');
      expect(connects.map((event) => event.network)).toContainEqual(
        expect.objectContaining({ destination_ip: '127.0.0.1', destination_port: 9 }),
      );
      expect(connects[0]!.process?.name).toBe('nc');
    } finally {
      await domain.close();
    }
  });
});
