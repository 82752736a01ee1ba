// Xen register events through LibVMI's Xen driver into Ringside's LibvmiDomain, in the lab's dom0:
// a PVH domU created paused, CR0/CR3/CR4 writes hooked, the domU unpaused. Runs only where the lab is
// prepared and a LibVMI built with its Xen driver is installed (RINGSIDE_LIBVMI, docs/xen.md).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The lab's name is read when xen-lab.ts loads: this test's lab must not be a user's running one.
process.env.RINGSIDE_XEN_LAB = 'xen-events-it';
const lab = await import('./xen-lab.js');

const libvmi = process.env.RINGSIDE_LIBVMI ?? '/opt/libvmi-xen/lib/libvmi.so';
const why =
  lab.labUnavailable() ??
  (!existsSync(libvmi)
    ? `no LibVMI with its Xen driver at ${libvmi} (docs/xen.md builds one; RINGSIDE_LIBVMI names it)`
    : undefined);
if (why) process.stderr.write(`skipping the Xen register-events integration test: ${why}\n`);
const describeWithLab = why ? describe.skip : describe;
// dom0's root is the host's own filesystem (9p), so the built probe runs there from this checkout.
const probe = fileURLToPath(
  new URL('../../dist/lab/xen/register-events-probe.js', import.meta.url),
);

describeWithLab('Xen lab: register events from a PVH domU through LibVMI into LibvmiDomain', () => {
  beforeAll(async () => {
    const times = await lab.labUp({ domu: 'none' });
    expect(times.tools).toBeGreaterThan(0);
  }, 900_000);

  afterAll(() => {
    lab.labDown();
  });

  it('reports the kernel setting CR0.WP with the writer’s rip, then closes cleanly', async () => {
    writeFileSync(join(lab.labPaths().exchange, 'domU-pvh.cfg'), lab.domuConfig('pvh'));
    const created = await lab.labExec('xl create -p /xchg/domU-pvh.cfg && xl list');
    expect(created.status).toBe(0);
    expect(created.output).toMatch(new RegExp(`${lab.DOMU_NAME}\\s+\\d+\\s+256\\s+1\\s+--p`));
    const run = await lab.labExec(
      `RINGSIDE_LIBVMI=${libvmi} node ${probe} ${lab.DOMU_NAME} 20`,
      900_000,
    );
    // The output is in the failure message when the probe fails.
    expect({ status: run.status, output: run.output }).toMatchObject({ status: 0 });
    const count = /^(\d+) register events in/m.exec(run.output);
    expect(Number(count?.[1])).toBeGreaterThan(0);
    // Early boot turns on WP (bit 16) in CR0; the event carries the old and new value and the rip.
    const wp = /^cr0 ([0-9a-f]+) -> ([0-9a-f]+) rip (ffffffff[0-9a-f]+)$/m.exec(run.output);
    expect(wp).not.toBeNull();
    expect(BigInt(`0x${wp![2]}`) & 0x10000n).toBe(0x10000n);
    expect(BigInt(`0x${wp![1]}`) & 0x10000n).toBe(0n);
  }, 1_200_000);
});
