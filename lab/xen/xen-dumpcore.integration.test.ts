// The Xen lab end to end without LibVMI: Xen 4.17, dom0 and the sample guest as a PV domU boot under
// QEMU TCG, `xl dump-core` writes the domU's core, and Ringside's snapshot path reads it. Runs only
// where the lab has been prepared (`ringside lab xen up` once: QEMU and the cached Debian packages).
import { spawnSync } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The lab's name is read when xen-lab.ts loads: this test's lab must not be a user's running one.
process.env.RINGSIDE_XEN_LAB = 'xen-dumpcore-it';
const lab = await import('./xen-lab.js');

const why = lab.labUnavailable();
if (why) process.stderr.write(`skipping the Xen dump-core integration test: ${why}\n`);
const describeWithLab = why ? describe.skip : describe;
const cli = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

describeWithLab('Xen lab: xl dump-core of the PV domU read by Ringside', () => {
  const core = join(lab.labPaths().exchange, 'domU.core');

  beforeAll(async () => {
    const times = await lab.labUp({ domu: 'pv' });
    expect(times.domu).toBeDefined();
  }, 900_000);

  afterAll(() => {
    rmSync(core, { force: true });
    lab.labDown();
  });

  it('dumps the running domU, which keeps running, and Ringside reads the PV core', async () => {
    const listed = await lab.labExec('xl list');
    expect(listed.output).toMatch(/xen-sample\s+\d+\s+256\s+1\s+[r-][b-]/);
    // Wait for the workload in the domU (its console, kept by xenconsoled in dom0).
    const booted = await lab.labExec(
      'for i in $(seq 600); do grep -q RINGSIDE-PS /var/log/xen/console/guest-xen-sample.log 2>/dev/null && exit 0; sleep 1; done; exit 1',
      700_000,
    );
    expect(booted.status).toBe(0);
    // Written to dom0's tmpfs, then copied to the host through the exchange directory (9p):
    // xl dump-core straight onto 9p is slower still.
    const dumped = await lab.labExec(
      `xl dump-core ${lab.DOMU_NAME} /tmp/domU.core && cp /tmp/domU.core /xchg/domU.core; status=$?; rm -f /tmp/domU.core; xl list ${lab.DOMU_NAME}; exit $status`,
      900_000,
    );
    expect(dumped).toMatchObject({
      status: 0,
      output: expect.stringMatching(/xen-sample\s+\d+\s+256/),
    });
    // 256 MiB of pages, the frame list and one vCPU context.
    expect(statSync(core).size).toBeGreaterThan(256 << 20);

    // A PV guest's page tables name machine frames: the reader maps them back through .xen_p2m.
    const ringside = (...args: string[]) =>
      spawnSync(process.execPath, [cli, 'snapshot', ...args, core], { encoding: 'utf8' });
    const info = ringside('info', '--json');
    expect(info.status).toBe(0);
    expect(JSON.parse(info.stdout)).toMatchObject({ format: 'xen', architecture: 'x86_64' });
    const tasks = ringside('pslist', '--json');
    expect(tasks.status).toBe(0);
    const names = (JSON.parse(tasks.stdout) as { comm: string }[]).map((task) => task.comm);
    // The sample guest's workload, as its own RINGSIDE-PS lines on the console list it.
    expect(names).toEqual(expect.arrayContaining(['init', 'webd', 'dbd', 'guestctl', 'collector']));
    const checked = ringside('check', '--json');
    expect(checked.status).toBe(0);
    const summary = JSON.parse(checked.stdout.trimEnd().split('\n').at(-1)!) as {
      ringside: { check: { findings: number; partial: boolean } };
    };
    expect(summary.ringside.check).toMatchObject({ findings: 0, partial: false });
  }, 1_200_000);
});
