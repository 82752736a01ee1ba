// The held-vCPU round trip (issue 14): the TCG plugin holds a vCPU at an exec hook with an empty
// handler until Ringside resumes it, over the unix socket and through the hit ring, in one run on
// one guest (phases alternate, so the machine's load falls on both). Target: median ≤ 50 µs.
import { QemuDomain } from '../introspect/backends/qemu/qemu-domain.js';
import { openLiveKernel } from '../introspect/os/linux/live-kernel.js';
import { guestLoopSeconds, say, withGuest } from './support/guest.js';

const us = (nanos: bigint): string => (Number(nanos) / 1000).toFixed(1);

await withGuest('bench-hold', 1, true, async (guest) => {
  const domain = await QemuDomain.attach({
    name: guest.name,
    pluginSocket: guest.endpoints.pluginSocket!,
    ramFile: guest.endpoints.ramFile,
    qmp: await guest.qmp(),
  });
  const kernel = openLiveKernel(domain);
  const subscription = domain
    .hook({ kind: 'exec', address: kernel.symbols.address('bprm_execve')! })
    .subscribe(() => undefined);
  await domain.synced();
  const totals = { socket: [] as number[], ring: [] as number[] };
  const rows: string[] = [];
  for (const round of [1, 2]) {
    for (const path of ['socket', 'ring'] as const) {
      const took = await domain.useHitRing(path === 'ring');
      if (took !== (path === 'ring')) throw new Error(`the hit ring did not attach (${path})`);
      await domain.stats(true);
      domain.hitRingLatency(true);
      await guestLoopSeconds(guest, 1);
      const stats = await domain.stats(true);
      const latency = domain.hitRingLatency(true);
      totals[path].push(Number(stats.holdNanosMedian) / 1000);
      rows.push(
        `  round ${round}, ${path.padEnd(6)}: median ${us(stats.holdNanosMedian)} µs, p99 ${us(stats.holdNanosP99)} µs over ${stats.holdSamples} holds (ring hits ${stats.ringHits}, ring timeouts ${stats.ringTimeouts}, timeouts ${stats.timeouts})`,
      );
      if (latency)
        rows.push(
          `      ring medians: plugin → worker ${latency.toWorker.toFixed(1)} µs, worker → main thread ${latency.toMain.toFixed(1)} µs, decode + handler + resume ${latency.handling.toFixed(1)} µs (${latency.samples} hits)`,
        );
    }
  }
  say('held-vCPU round trip, 1 vCPU, exec hook on bprm_execve, empty handler:');
  for (const row of rows) say(row);
  const best = (values: number[]) => Math.min(...values);
  say(
    `  ring vs socket (better round of each): ${best(totals.ring).toFixed(1)} µs vs ${best(totals.socket).toFixed(1)} µs = ${(best(totals.ring) / best(totals.socket)).toFixed(2)}× (target median ≤ 50 µs)`,
  );
  subscription.unsubscribe();
  await domain.close();
});
