// Run in the ARM64 Xen lab's dom0 (run.sh --ringside): opens the domU through openDomain's LibVMI
// kind (LibVMI's Xen driver, by name), finds its ARM64 kernel and lists its tasks, timing each step;
// with a FRAME, then hooks writes to it through LibvmiDomain (events on) for SECONDS and counts them.
// Usage: node ringside-ps-probe.js DOMAIN [FRAME SECONDS]   (FRAME: a guest frame number in hex)
import { openDomain } from '../../../pipeline/open-domain.js';
import { openLinuxKernel } from '../../../introspect/os/linux/linux-kernel.js';
import { listTasks } from '../../../introspect/os/linux/tasks.js';

const [name = 'xen-sample', frameText, secondsText = '10'] = process.argv.slice(2);
const t0 = performance.now();
const seconds = (): string => ((performance.now() - t0) / 1000).toFixed(1);
const say = (line: string): void => void process.stdout.write(`RINGSIDE ${line}\n`);

say(
  `node ${process.version} ${process.arch}: modules loaded at ${(performance.now() / 1000).toFixed(1)} s since start`,
);
const { domain } = await openDomain({ kind: 'libvmi', mode: 'xen', domain: name });
say(`openDomain libvmi xen ${name}: ok at ${seconds()} s; live=${domain.capabilities.live}`);
try {
  // The live kernel opener tries x86-64 first, which scans all of memory for a page-table root:
  // minutes at LibVMI's emulated read speed. The architecture is known here.
  const kernel = openLinuxKernel(domain.physical, [], { architecture: 'aarch64' });
  say(`kernel found at ${seconds()} s`);
  const list = listTasks(kernel);
  say(
    `tasks listed at ${seconds()} s: ${list.tasks.length}${list.problem ? ` (partial: ${list.problem.message})` : ''}`,
  );
  for (const task of list.tasks)
    say(`task ${task.pid} ${task.ppid} ${task.uid} ${task.kernelThread ? 'k' : 'u'} ${task.comm}`);
} finally {
  await domain.close();
  say(`closed at ${seconds()} s`);
}

if (frameText !== undefined) {
  // The dom0less domU's monitor-ring frame must already be chosen (libvmi-probe.c does it).
  const { domain: live } = await openDomain({
    kind: 'libvmi',
    mode: 'xen',
    domain: name,
    events: true,
  });
  say(`openDomain with events: ok at ${seconds()} s; memAccess=${live.capabilities.memAccess}`);
  const frame = BigInt(`0x${frameText}`);
  const seen: string[] = [];
  let count = 0;
  const subscription = live
    .hook({ kind: 'memory', frame, access: { w: true } })
    .subscribe((context) => {
      count++;
      const vmi = context.event.vmi;
      if (seen.length < 8)
        seen.push(
          `gpa=${vmi?.gpa?.toString(16)} gva=${vmi?.gva?.toString(16)} access=${vmi?.access} rip=${vmi?.rip?.toString(16)}`,
        );
    });
  await live.synced();
  say(`memory hook on frame ${frameText} set at ${seconds()} s`);
  await new Promise((resolve) => setTimeout(resolve, Number(secondsText) * 1000));
  subscription.unsubscribe();
  await live.close();
  say(`${count} write events in ${secondsText} s; closed at ${seconds()} s`);
  for (const line of seen) say(`event ${line}`);
}
