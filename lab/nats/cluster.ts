// A real NATS JetStream cluster on loopback for fleet mode's integration tests and bench: Debian's
// nats-server, one process per node, stores in a tmp dir; nodes can be killed and restarted.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { freePort } from '../../introspect/test-support/free-port.js';
import { DEFAULT_PARTITIONS, partitionMapping } from '../../pipeline/fleet/partitions.js';

interface Node {
  name: string;
  config: string;
  clientPort: number;
  process: ChildProcess | undefined;
}

export class NatsCluster {
  private constructor(
    readonly directory: string,
    private readonly nodes: Node[],
  ) {}

  get servers(): string[] {
    return this.nodes.map((node) => `nats://127.0.0.1:${node.clientPort}`);
  }

  /** Every node maps events to `partitions` partitions by guest, as docs/fleet.md asks of a cluster. */
  static async start(
    size = 3,
    prefix = 'fleet-nats',
    partitions = DEFAULT_PARTITIONS,
  ): Promise<NatsCluster> {
    const directory = mkdtempSync(join(tmpdir(), `${prefix}-`));
    const clientPorts = await Promise.all(Array.from({ length: size }, freePort));
    const routePorts = await Promise.all(Array.from({ length: size }, freePort));
    const nodes = clientPorts.map((clientPort, index): Node => {
      const name = `${prefix}-${index + 1}`;
      const store = join(directory, name);
      mkdirSync(store);
      const config = join(directory, `${name}.conf`);
      const routes = routePorts
        .filter((_, other) => other !== index)
        .map((port) => `nats-route://127.0.0.1:${port}`);
      writeFileSync(
        config,
        [
          `server_name: ${name}`,
          `listen: 127.0.0.1:${clientPort}`,
          `jetstream { store_dir: "${store}", max_memory_store: 64MB, max_file_store: 8GB }`,
          partitionMapping(partitions),
          size > 1
            ? `cluster { name: ${prefix}, listen: 127.0.0.1:${routePorts[index]}, routes: [${routes.join(', ')}] }`
            : '',
        ].join('\n'),
      );
      return { name, config, clientPort, process: undefined };
    });
    const cluster = new NatsCluster(directory, nodes);
    for (let index = 0; index < size; index += 1) cluster.startNode(index);
    await cluster.ready();
    return cluster;
  }

  /** The running nodes' process ids (CPU accounting in benches). */
  get pids(): number[] {
    return this.nodes.flatMap((node) =>
      node.process?.pid !== undefined ? [node.process.pid] : [],
    );
  }

  startNode(index: number): void {
    const node = this.nodes[index]!;
    node.process = spawn('nats-server', ['-c', node.config], { stdio: 'ignore' });
  }

  /** SIGKILL: no clean shutdown, as a crashed machine. */
  async killNode(index: number): Promise<void> {
    const child = this.nodes[index]!.process;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    this.nodes[index]!.process = undefined;
  }

  /** Waits until JetStream has a meta leader and accepts an R<size> stream (then deletes it). */
  async ready(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const { jetstreamManager } = await import('@nats-io/jetstream');
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const nc = await connect({ servers: this.servers, timeout: 1000 });
        try {
          const jsm = await jetstreamManager(nc, { timeout: 2000 });
          const name = `READY_${Date.now()}`;
          await jsm.streams.add({
            name,
            subjects: [`ready.${name}`],
            num_replicas: this.nodes.length,
          });
          await jsm.streams.delete(name);
          return;
        } finally {
          await nc.close();
        }
      } catch (error) {
        last = error;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    throw new Error(`NATS cluster not ready: ${String(last)}`);
  }

  async stop(): Promise<void> {
    for (let index = 0; index < this.nodes.length; index += 1) await this.killNode(index);
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.directory, { recursive: true, force: true });
  }
}
