// `ringside detect --nats`: rules on the fleet's events. The events are partitioned by guest; each
// partition is owned by one worker of the group at a time (a KV lease), so sequences and thresholds see all of a guest's events.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Finding } from '../../introspect/events/finding.js';
import { toJson } from '../../introspect/events/json.js';
import { RuleEngine, type Ruleset } from '../../rules/index.js';
import { silentLog, type SinkLog } from '../../sinks/log.js';
import type { Sink } from '../../sinks/types.js';
import type { FloorMemo } from './durable-takeover.js';
import { FindingsForwarder } from './findings-forwarder.js';
import { LeaseTable, type Lease } from './leases.js';
import { PartitionConsumer } from './partition-consumer.js';
import {
  DEFAULT_PARTITIONS,
  UNPARTITIONED_FILTER,
  partitionMapping,
  planOwnership,
} from './partitions.js';
import { ensureStreams, type StreamLimits } from './streams.js';
import { EVENTS_STREAM, findingSubject } from './subjects.js';

export interface RuleWorkerOptions {
  servers: string[];
  rules: Ruleset | RuleEngine;
  /** The group's name: workers with the same one share the partitions. Default ringside-rules. */
  durable?: string;
  streams: StreamLimits;
  /** Partitions of the events; must match the servers' mapping (partitionMapping). Default 8. */
  partitions?: number;
  /** A worker that stops renewing its leases loses its partitions after this long. Default 10 s. */
  leaseTtlMs?: number;
  /** Unacknowledged events per partition before JetStream stops handing out more. Default 10 000. */
  maxAckPending?: number;
  /** Ack after this many events or this long (ms). Defaults 256 and 100. */
  ackEvery?: number;
  ackIntervalMs?: number;
  /**
   * Where the group's findings go: the worker holding the group's sinks lease writes every finding
   * of the findings stream into it (one writer at a time, taken over like a partition).
   */
  sink?: Sink;
  /** Ids the sink already holds among its latest findings (file sinks read back), for a takeover. */
  delivered?: () => Promise<Set<string>>;
  /** Called per finding written to the sink. */
  onWritten?: (finding: Finding) => void;
  log?: SinkLog;
}

export interface RuleWorkerStats {
  events: number;
  findings: number;
  /** Events that were not JSON events (skipped and acked, so they are not redelivered forever). */
  rejected: number;
  /** Partitions restarted from their ack floor after a finding could not be stored. */
  retried: number;
  /** Partitions taken (at start, from a released or an expired lease). */
  takeovers: number;
}

/** How long before the ack floor a takeover replays: twice the longest correlation window, plus 5 s. */
export function warmupFor(engine: RuleEngine): number {
  const longest = Math.max(0, ...engine.matchers.map((m) => m.rule.correlation?.within ?? 0));
  return longest === 0 ? 0 : 2 * longest + 5000;
}

/** Errors of a cluster not ready yet (retried), as opposed to a refused configuration (thrown). */
const NOT_READY = /timeout|not enabled|no responders|unavailable|no suitable peers/i;

async function untilAnswered<T>(log: SinkLog, attempt: () => Promise<T>): Promise<T> {
  for (let tries = 0; ; tries += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof Error) || !NOT_READY.test(error.message)) throw error;
      log.warn('nats: JetStream not answering yet, retrying', { error: error.message });
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 500 * 2 ** tries)));
    }
  }
}

export class RuleWorker {
  readonly stats: RuleWorkerStats = {
    events: 0,
    findings: 0,
    rejected: 0,
    retried: 0,
    takeovers: 0,
  };
  private readonly owned = new Map<number, { lease: Lease; consumer: PartitionConsumer }>();
  /** Floors of this worker's takeovers that failed half-way, for their retries. */
  private readonly floors: FloorMemo = new Map();
  private forwarding:
    { lease: Lease; forwarder: FindingsForwarder; validUntil: number } | undefined;
  private readonly engine: RuleEngine;
  private readonly group: string;
  private readonly partitions: number;
  private readonly log: SinkLog;
  /** How long after a renewal's request the lease is ours for sure (the server counts from later). */
  private readonly halfTtlMs: number;
  private timer: NodeJS.Timeout | undefined;
  /** The group's size at the last listing that answered (this worker included). */
  private knownWorkers = 1;
  private ticking: Promise<void> = Promise.resolve();
  private stopped = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly leases: LeaseTable,
    private readonly options: RuleWorkerOptions,
  ) {
    this.engine =
      options.rules instanceof RuleEngine ? options.rules : new RuleEngine(options.rules);
    this.group = options.durable ?? 'ringside-rules';
    this.partitions = options.partitions ?? DEFAULT_PARTITIONS;
    this.log = options.log ?? silentLog;
    this.halfTtlMs = (options.leaseTtlMs ?? 10_000) / 2;
  }

  static async start(options: RuleWorkerOptions): Promise<RuleWorker> {
    const nc = await connect({
      servers: options.servers,
      name: 'ringside-rules-worker',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    try {
      const jsm = await jetstreamManager(nc);
      const ttlMs = options.leaseTtlMs ?? 10_000;
      const id = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
      // A cluster starting, electing or overloaded answers late: wait for it, as the agent does.
      const leases = await untilAnswered(options.log ?? silentLog, async () => {
        await ensureStreams(jsm, options.streams);
        return LeaseTable.open(nc, id, { ttlMs, replicas: options.streams.replicas });
      });
      const worker = new RuleWorker(nc, jetstream(nc), jsm, leases, options);
      await worker.checkMapping();
      worker.ticking = worker.tick();
      await worker.ticking;
      worker.timer = setInterval(() => {
        worker.ticking = worker.ticking.then(() => worker.tick());
      }, ttlMs / 4);
      return worker;
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  /** This worker in the leases: host, pid and a random suffix. */
  get id(): string {
    return this.leases.owner;
  }

  /** Partitions this worker owns now. */
  get ownedPartitions(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  /** Events stored without a partition token mean a server lacks the mapping: said once, loudly. */
  private async checkMapping(): Promise<void> {
    const info = await this.jsm.streams.info(EVENTS_STREAM, {
      subjects_filter: UNPARTITIONED_FILTER,
    });
    const subjects = Object.keys(info.state.subjects ?? {});
    if (subjects.length > 0)
      this.log.error(
        `events without a partition (e.g. ${subjects[0]}): a nats-server lacks the mapping, no worker reads them; add to every server: ${partitionMapping(this.partitions)}`,
      );
  }

  private key(kind: 'p' | 'w', name: string | number): string {
    return `${this.group}.${kind}.${name}`;
  }

  /** Renews, restarts what failed, and rebalances: one pass, every quarter of the lease TTL. */
  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      // Every lease renewed at once, before anything slow (a restart, a takeover): one pass through
      // a cluster that answers late (an election after a node died) must not outlast the TTL.
      const sent = Date.now();
      const partitions = [...this.owned.entries()];
      const [heartbeat, sinks, ...renewals] = await Promise.allSettled([
        this.leases.put(this.key('w', this.leases.owner)),
        this.forwarding ? this.leases.renew(this.forwarding.lease) : Promise.resolve(undefined),
        ...partitions.map(([, held]) => this.leases.renew(held.lease)),
      ]);
      if (this.forwarding && sinks?.status === 'fulfilled')
        await this.renewedSinks(sinks.value, sent);
      for (const [index, [partition, held]] of partitions.entries()) {
        const renewal = renewals[index]!;
        // Not answered: kept as it is, renewed at the next pass (or lost, if that is too late).
        if (renewal.status === 'rejected') continue;
        if (!renewal.value) {
          this.log.warn(`partition ${partition}: lease lost, stopped`);
          this.owned.delete(partition);
          await held.consumer.stop();
          continue;
        }
        held.lease = renewal.value;
        if (held.consumer.failed) {
          this.stats.retried += 1;
          this.log.warn(`partition ${partition}: restarted from its ack floor`, {
            error: held.consumer.failed.message,
          });
          await held.consumer.stop();
          held.consumer = this.partitionConsumer(partition);
          await this.started(held.consumer);
        }
      }
      const failed = [heartbeat, sinks, ...renewals].find((r) => r?.status === 'rejected');
      if (failed?.status === 'rejected') throw failed.reason;
      await this.keepForwarding();
      const workers = await this.workerCount();
      const holders = await this.leases.holders(
        Array.from({ length: this.partitions }, (_, partition) => this.key('p', partition)),
      );
      const free: number[] = [];
      for (let partition = 0; partition < this.partitions; partition += 1)
        if (!holders.has(this.key('p', partition)) && !this.owned.has(partition))
          free.push(partition);
      const offset = parseInt(this.leases.owner.slice(-6), 16) % this.partitions;
      const plan = planOwnership({
        partitions: this.partitions,
        workers,
        owned: this.ownedPartitions,
        free,
        offset,
      });
      for (const partition of plan.release) await this.release(partition);
      for (const partition of plan.acquire) {
        if (this.stopped) return;
        const lease = await this.leases.acquire(this.key('p', partition));
        if (!lease) continue;
        const consumer = this.partitionConsumer(partition);
        try {
          await consumer.start();
        } catch (error) {
          await this.leases.release(lease);
          throw error;
        }
        this.owned.set(partition, { lease, consumer });
        this.stats.takeovers += 1;
        this.log.info(`partition ${partition}: taken`);
      }
    } catch (error) {
      // NATS away or without quorum: the next tick tries again; leases not renewed in time are lost.
      this.log.warn('worker: ownership pass failed', { error: (error as Error).message });
    }
  }

  /**
   * Starts a restarted consumer or forwarder; one whose start failed is marked failed, so the next
   * pass restarts it again instead of leaving it half-started and silent for good.
   */
  private async started(runner: { start(): Promise<void>; failed: Error | undefined }) {
    try {
      await runner.start();
    } catch (error) {
      runner.failed ??= error instanceof Error ? error : new Error(String(error));
      throw error;
    }
  }

  /**
   * How many workers the group has, from their heartbeats. A cluster that just lost a node may not
   * answer, or answer with none: the last count that answered stands meanwhile.
   */
  private async workerCount(): Promise<number> {
    const workers = await this.leases.list(`${this.group}.w`).catch(() => new Map());
    if (workers.has(this.key('w', this.leases.owner))) this.knownWorkers = workers.size;
    return Math.max(1, this.knownWorkers);
  }

  /** The sinks lease renewed (or found lost) in this pass; a lost one stops the forwarder. */
  private async renewedSinks(renewed: Lease | undefined, sent: number): Promise<void> {
    if (!this.forwarding) return;
    if (!renewed) {
      this.log.warn('sinks: lease lost, forwarding stopped');
      const { forwarder } = this.forwarding;
      this.forwarding = undefined;
      await forwarder.stop();
      return;
    }
    // The lease is ours for sure until half its TTL after the request that renewed it was sent (the
    // server counts the TTL from later); past that, the forwarder stops writing.
    this.forwarding.lease = renewed;
    this.forwarding.validUntil = sent + this.halfTtlMs;
  }

  /** Restarts the forwarder after a sink failure, or tries to take the sinks lease. */
  private async keepForwarding(): Promise<void> {
    const sink = this.options.sink;
    if (!sink) return;
    if (this.forwarding) {
      if (!this.forwarding.forwarder.failed) return;
      this.log.warn('sinks: restarted from the findings ack floor', {
        error: this.forwarding.forwarder.failed.message,
      });
      await this.forwarding.forwarder.stop();
      this.forwarding.forwarder = this.forwarder(sink);
      await this.started(this.forwarding.forwarder);
      return;
    }
    const sent = Date.now();
    const lease = await this.leases.acquire(`${this.group}.sinks`);
    if (!lease) return;
    const validUntil = sent + this.halfTtlMs;
    this.forwarding = { lease, forwarder: this.forwarder(sink), validUntil };
    try {
      await this.forwarding.forwarder.start();
    } catch (error) {
      this.forwarding = undefined;
      await this.leases.release(lease);
      throw error;
    }
    this.log.info('sinks: this worker writes the findings');
  }

  private forwarder(sink: Sink): FindingsForwarder {
    return new FindingsForwarder(this.js, this.jsm, {
      group: this.group,
      sink,
      ...(this.options.delivered ? { delivered: this.options.delivered } : {}),
      // The previous holder stops taking findings half a TTL after its last renewal, which was at
      // least a TTL before this takeover; what it queued lands within the next half: read back then.
      takeoverGraceMs: this.halfTtlMs,
      floors: this.floors,
      ...(this.options.onWritten ? { onWritten: this.options.onWritten } : {}),
      mayWrite: () => this.forwarding !== undefined && Date.now() < this.forwarding.validUntil,
      ackEvery: this.options.ackEvery ?? 256,
      ackIntervalMs: this.options.ackIntervalMs ?? 100,
      log: this.log,
    });
  }

  /** Whether this worker writes the group's findings into its sink now. */
  get forwardsFindings(): boolean {
    return this.forwarding !== undefined;
  }

  private partitionConsumer(partition: number): PartitionConsumer {
    return new PartitionConsumer(this.js, this.jsm, {
      group: this.group,
      partition,
      engine: this.engine,
      warmupMs: warmupFor(this.engine),
      publish: (finding, host, guest) => this.publishFinding(finding, host, guest),
      ackEvery: this.options.ackEvery ?? 256,
      ackIntervalMs: this.options.ackIntervalMs ?? 100,
      maxAckPending: this.options.maxAckPending ?? 10_000,
      onEvent: (published) => {
        this.stats.events += 1;
        this.stats.findings += published;
      },
      onRejected: () => (this.stats.rejected += 1),
      floors: this.floors,
      log: this.log,
    });
  }

  private publishFinding(finding: Finding, host: string, guest: string): Promise<unknown> {
    return this.js.publish(findingSubject(host, guest), toJson(finding), { msgID: finding.id });
  }

  private async release(partition: number): Promise<void> {
    const held = this.owned.get(partition);
    if (!held) return;
    this.owned.delete(partition);
    await held.consumer.stop();
    await this.leases.release(held.lease);
    this.log.info(`partition ${partition}: released`);
  }

  /** Finishes the events in hand (acked, findings stored), gives the partitions up, disconnects. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.ticking.catch(() => undefined);
    for (const partition of this.ownedPartitions) await this.release(partition).catch(() => {});
    if (this.forwarding) {
      const { forwarder, lease } = this.forwarding;
      this.forwarding = undefined;
      await forwarder.stop().catch(() => undefined);
      await this.leases.release(lease);
    }
    await this.nc.drain().catch(() => undefined);
  }
}
