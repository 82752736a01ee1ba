// `ringside agent`: one per host. Discovers the guests, attaches each with its best mode, publishes
// their events to JetStream through the on-disk outbox, re-attaches guests that come back.
import type { Subscription } from 'rxjs';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { Domain } from '../../introspect/domain/types.js';
import type { VmiEvent } from '../../introspect/events/event.js';
import { silentLog, type SinkLog } from '../../sinks/log.js';
import type { AgentConfig } from './agent-config.js';
import { AgentMetrics } from './agent-metrics.js';
import {
  configuredGuests,
  qemuProcessGuests,
  type GuestCandidate,
  type GuestSource,
} from './guest-sources.js';
import {
  MAX_BATCH_EVENTS,
  eventMessage,
  outgoingEvent,
  takeBatch,
  type OutgoingEvent,
} from './event-batch.js';
import { JetStreamOutbox } from './jetstream-outbox.js';
import { ensureStreams } from './streams.js';

/** Appends not yet on disk per guest beyond which new events are dropped (and counted): memory stays bounded. */
const MAX_PENDING_APPENDS = 10_000;

interface Attachment {
  candidate: GuestCandidate;
  domain: Domain;
  subscription: Subscription;
  /** Events taken and not yet on disk (waiting, and in the append in flight). */
  pending: number;
  /** Events waiting while an append is in flight: they go to disk together, as one message. */
  waiting: OutgoingEvent[];
  appending: boolean;
  /** The batch's wait (config.batchMs) before its append, while one is set. */
  linger: NodeJS.Timeout | undefined;
  ended: boolean;
}

export interface AgentOptions {
  config: AgentConfig;
  log?: SinkLog;
  /** Replaces the sources from the configuration (tests). */
  sources?: GuestSource[];
}

export class Agent {
  readonly metrics: AgentMetrics;
  private readonly attachments = new Map<string, Attachment>();
  /** Finite guests (traces) that ended, and attach failures' next try time. */
  private readonly finished = new Set<string>();
  private readonly retryAt = new Map<string, { at: number; attempt: number }>();
  private readonly sources: GuestSource[];
  private readonly skippedLogged = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> = Promise.resolve();
  private stopped = false;

  private constructor(
    private readonly config: AgentConfig,
    private readonly nc: NatsConnection,
    readonly outbox: JetStreamOutbox,
    private readonly log: SinkLog,
    sources: GuestSource[] | undefined,
  ) {
    this.sources = sources ?? [
      configuredGuests(config),
      ...(config.discoverQemu ? [qemuProcessGuests(config)] : []),
    ];
    this.metrics = new AgentMetrics(
      () => this.outbox.metrics(),
      () => this.guestStates(),
    );
  }

  /**
   * Connects (NATS may be down: the client keeps reconnecting and the outbox buffers meanwhile),
   * checks the streams when it can, opens the outbox and starts discovery.
   */
  static async start(options: AgentOptions): Promise<Agent> {
    const log = options.log ?? silentLog;
    const { config } = options;
    const nc = await connect({
      servers: config.servers,
      name: `ringside-agent-${config.host}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: true,
    });
    try {
      await ensureStreams(await jetstreamManager(nc), config.streams);
    } catch (error) {
      // The cluster may be without quorum right now: events still go to disk, streams are checked
      // by the first successful publish (a stream missing then is a publish error, retried).
      log.warn('nats: could not check the streams yet', { error: (error as Error).message });
    }
    const outbox = await JetStreamOutbox.open(jetstream(nc), {
      directory: config.bufferDirectory,
      maxBytes: config.bufferMaxBytes,
      log,
    });
    const agent = new Agent(config, nc, outbox, log, options.sources);
    agent.scanning = agent.scan();
    agent.timer = setInterval(() => {
      agent.scanning = agent.scanning.then(() => agent.scan());
    }, config.intervalMs);
    return agent;
  }

  guestStates(): Array<{ name: string; mode: string; attached: boolean }> {
    return [...this.attachments.values()].map((a) => ({
      name: a.candidate.name,
      mode: a.candidate.mode,
      attached: !a.ended,
    }));
  }

  /** One discovery pass: attach what is new, drop attachments whose guest ended. */
  async scan(): Promise<void> {
    if (this.stopped) return;
    for (const [key, attachment] of this.attachments)
      if (attachment.ended && attachment.pending === 0) {
        this.attachments.delete(key);
        await attachment.domain.close().catch(() => undefined);
      }
    const seen = new Set<string>();
    for (const source of this.sources) {
      const { guests, skipped } = await source().catch((error: unknown) => {
        this.log.error('discovery failed', { error: (error as Error).message });
        return { guests: [], skipped: [] };
      });
      for (const line of skipped)
        if (!this.skippedLogged.has(line)) {
          this.skippedLogged.add(line);
          this.log.warn(`guest skipped: ${line}`);
        }
      for (const candidate of guests) {
        if (seen.has(candidate.key)) continue;
        seen.add(candidate.key);
        if (this.attachments.has(candidate.key) || this.finished.has(candidate.key)) continue;
        const retry = this.retryAt.get(candidate.key);
        if (retry && retry.at > Date.now()) continue;
        if (this.stopped) return;
        await this.attach(candidate);
      }
    }
  }

  private async attach(candidate: GuestCandidate): Promise<void> {
    const { openDomain, openGuestKernel, liveEvents } = await import('../index.js');
    let domain: Domain | undefined;
    try {
      domain = (await openDomain(candidate.spec)).domain;
      let events$ = domain.events$;
      let note = '';
      if (candidate.plugins.length > 0) {
        const { chooseDetectors, runnableDetectors } = await import('../../plugins/index.js');
        const kernel = openGuestKernel(domain);
        const { runnable, refused } = runnableDetectors(chooseDetectors(candidate.plugins), {
          domain,
          kernel,
        });
        for (const line of refused) this.log.warn(`${candidate.name}: ${line}`);
        events$ = liveEvents({ domain, kernel, plugins: runnable });
        note = `Linux ${kernel.release}; plugins ${runnable.map((p) => p.meta.id).join(',')}`;
      }
      const attachment: Attachment = {
        candidate,
        domain,
        pending: 0,
        waiting: [],
        appending: false,
        linger: undefined,
        ended: false,
        subscription: undefined as unknown as Subscription,
      };
      this.attachments.set(candidate.key, attachment);
      this.metrics.attached(candidate.name, candidate.mode);
      this.log.info(`attached ${candidate.name} (${candidate.mode}) ${note}`.trim());
      attachment.subscription = events$.subscribe({
        next: (event) => this.publish(attachment, event),
        error: (error: unknown) => this.ended(attachment, (error as Error).message),
        complete: () => this.ended(attachment, undefined),
      });
    } catch (error) {
      await domain?.close().catch(() => undefined);
      const attempt = this.backOff(candidate.key);
      this.metrics.attachFailed(candidate.name);
      // One guest's failure never stops the others.
      this.log.error(`attach ${candidate.name} (${candidate.mode}) failed`, {
        error: (error as Error).message,
        attempt,
      });
    }
  }

  /** Delays the next attach of `key` (1 s doubling to 60 s); returns the attempt number. */
  private backOff(key: string): number {
    const attempt = (this.retryAt.get(key)?.attempt ?? 0) + 1;
    this.retryAt.set(key, { at: Date.now() + Math.min(60_000, 1000 * 2 ** attempt), attempt });
    return attempt;
  }

  /**
   * Takes one event: it waits up to config.batchMs (and while an append of this guest is in flight)
   * for others of its guest; what waited goes to disk as one batch (one message, one Nats-Msg-Id
   * derived from its events' ids), so a busy guest costs a message per batch, not per event.
   */
  private publish(attachment: Attachment, event: VmiEvent): void {
    const guest = attachment.candidate.name;
    if (attachment.pending >= MAX_PENDING_APPENDS) {
      this.metrics.dropped(guest);
      return;
    }
    attachment.pending += 1;
    this.metrics.event(guest);
    attachment.waiting.push(outgoingEvent(this.config.host, event));
    if (attachment.appending) return;
    const full = attachment.waiting.length >= MAX_BATCH_EVENTS;
    if (full || this.config.batchMs <= 0) {
      clearTimeout(attachment.linger);
      attachment.linger = undefined;
      void this.appendWaiting(attachment);
    } else
      attachment.linger ??= setTimeout(() => {
        attachment.linger = undefined;
        if (!attachment.appending) void this.appendWaiting(attachment);
      }, this.config.batchMs);
  }

  /** Appends a guest's waiting events, a batch at a time, in order, until none waits. */
  private async appendWaiting(attachment: Attachment): Promise<void> {
    const guest = attachment.candidate.name;
    attachment.appending = true;
    while (attachment.waiting.length > 0) {
      const batch = takeBatch(attachment.waiting);
      const message = eventMessage(this.config.host, guest, batch);
      try {
        await this.outbox.append(message.subject, message.id, message.payload);
      } catch (error) {
        this.metrics.dropped(guest, batch.length);
        this.log.error(`${guest}: events not buffered`, {
          error: (error as Error).message,
          events: batch.length,
        });
      }
      attachment.pending -= batch.length;
    }
    attachment.appending = false;
  }

  private ended(attachment: Attachment, error: string | undefined): void {
    attachment.ended = true;
    const { name, key, finite } = attachment.candidate;
    this.metrics.detached(name);
    if (finite && error === undefined) this.finished.add(key);
    // A guest that fails right after attaching is retried with back-off, not at every scan.
    if (error !== undefined)
      this.log.warn(`${name}: events ended`, { error, attempt: this.backOff(key) });
    else this.log.info(`${name}: events ended`);
  }

  /** Resolves once every attached finite guest ended and the outbox is empty (tests, `--once`). */
  async idle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    await this.scanning;
    while ([...this.attachments.values()].some((a) => !a.ended || a.pending > 0)) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.outbox.drained(Math.max(0, deadline - Date.now()));
  }

  /** Detaches every guest (their QEMU runs on), keeps what is unpublished on disk, disconnects. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.scanning.catch(() => undefined);
    for (const attachment of this.attachments.values()) {
      attachment.subscription.unsubscribe();
      while (attachment.pending > 0) await new Promise((resolve) => setTimeout(resolve, 5));
      await attachment.domain.close().catch(() => undefined);
    }
    this.attachments.clear();
    await this.outbox.close();
    await this.nc.close();
  }
}
