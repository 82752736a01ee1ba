// Run in the lab's dom0: opens a Xen domain through LibVMI (events on), hooks CR0/CR3/CR4 writes
// through LibvmiDomain, unpauses the domain and prints every register event and the handler's time.
// Usage: node register-events-probe.js DOMAIN [SECONDS]
import { spawnSync } from 'node:child_process';
import { LibvmiDomain } from '../../introspect/backends/libvmi/libvmi-domain.js';

const [name = 'xen-pvh', seconds = '20'] = process.argv.slice(2);
const domain = LibvmiDomain.open({ mode: 'xen', domain: name, events: true });
const seen: string[] = [];
const handlerNs: number[] = [];
const subscriptions = (['cr0', 'cr3', 'cr4'] as const).map((register) =>
  domain.hook({ kind: 'register', register }).subscribe((context) => {
    const start = process.hrtime.bigint();
    const vmi = context.event.vmi;
    seen.push(
      `${register} ${vmi?.old_value?.toString(16)} -> ${vmi?.new_value?.toString(16)} rip ${vmi?.rip?.toString(16)}`,
    );
    handlerNs.push(Number(process.hrtime.bigint() - start));
  }),
);
await domain.synced();
const unpause = spawnSync('xl', ['unpause', name], { encoding: 'utf8' });
process.stdout.write(`hooks set; xl unpause ${name}: ${unpause.status}\n`);
const started = performance.now();
await new Promise((resolve) => setTimeout(resolve, Number(seconds) * 1000));
for (const subscription of subscriptions) subscription.unsubscribe();
await domain.close();
process.stdout.write(
  `${seen.length} register events in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
);
for (const line of seen.slice(0, 40)) process.stdout.write(`${line}\n`);
