// The agent's own cost per attached real guest: `ringside agent` attached to 0, 1, … N plain sample
// guests (through their process and QMP) while each runs a fork/exec loop; its CPU and RSS from /proc.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { startSampleGuest, type RunningGuest } from '../lab/guest/launch.js';
import { NatsCluster } from '../lab/nats/cluster.js';
import { EVENTS_STREAM } from '../pipeline/fleet/index.js';
import { LOOP, say } from './support/guest.js';

const GUESTS = Number(process.env.RINGSIDE_BENCH_FLEET_AGENT_GUESTS ?? 2);
const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));

function usage(pid: number): { cpu: number; rssMiB: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const rssPages = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]);
  return {
    cpu: (Number(fields[11]) + Number(fields[12])) / 100,
    rssMiB: (rssPages * 4096) / 2 ** 20,
  };
}

const directory = mkdtempSync(join(tmpdir(), 'fleet-agent-bench-'));
const cluster = await NatsCluster.start(1, 'fleet-agent-bench');
const guests: RunningGuest[] = [];
try {
  for (let n = 0; n < GUESTS; n += 1)
    guests.push(await startSampleGuest({ name: `fleet-agent-bench-${n}`, plain: true }));
  const nc = await connect({ servers: cluster.servers });
  const jsm = await jetstreamManager(nc);
  say(
    `agent attached to k plain sample guests (process + QMP, hardware breakpoints), each running ${LOOP}; 1 NATS node R1; this 2-core machine is shared (load average ${loadavg()[0]!.toFixed(1)})`,
  );
  for (let attached = 0; attached <= GUESTS; attached += 1) {
    const config = join(directory, `agent-${attached}.yaml`);
    writeFileSync(
      config,
      JSON.stringify({
        host: 'bench',
        nats: { servers: cluster.servers, streams: { replicas: 1 } },
        buffer: { directory: join(directory, `buffer-${attached}`) },
        discovery: { qemuProcesses: false },
        guests: guests.slice(0, attached).map((guest) => ({
          name: guest.name,
          qemuPid: guest.pid,
          qmp: guest.endpoints.qmpSocket,
        })),
      }),
    );
    const agent = spawn(process.execPath, [cli, 'agent', '--config', config], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    agent.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = Date.now() + 120_000;
    while (
      (stderr.match(/"attached /g) ?? []).length < attached ||
      !stderr.includes('ringside agent on')
    ) {
      if (Date.now() > deadline) throw new Error(`agent did not attach: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const before = usage(agent.pid!);
    const eventsBefore = (await jsm.streams.info(EVENTS_STREAM)).state.messages;
    const started = performance.now();
    // Every guest runs the loop, attached or not, so the machine's load is the same at each k.
    await Promise.all(
      guests.map(async (guest) => {
        const control = await guest.control();
        try {
          await control.run(LOOP, 300_000);
        } finally {
          control.close();
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const after = usage(agent.pid!);
    const events = (await jsm.streams.info(EVENTS_STREAM)).state.messages - eventsBefore;
    agent.kill('SIGTERM');
    await new Promise((resolve) => agent.once('exit', resolve));
    say(
      `  ${attached} guest(s): agent CPU ${((100 * (after.cpu - before.cpu)) / (seconds + 2)).toFixed(1)} % of a core, RSS ${after.rssMiB.toFixed(0)} MiB, ${events} events (${(events / seconds).toFixed(0)}/s) in ${seconds.toFixed(1)} s`,
    );
  }
  await nc.close();
} finally {
  for (const guest of guests) await guest.stop();
  await cluster.destroy();
  rmSync(directory, { recursive: true, force: true });
}
