// The fleet's findings into the configured sinks: one worker of the group holds the sinks lease and
// consumes RINGSIDE_FINDINGS (each finding stored once, by id) into its sinks, acking after the sinks took them.
import {
  AckPolicy,
  DeliverPolicy,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Finding } from '../../introspect/events/finding.js';
import { silentLog, type SinkLog } from '../../sinks/log.js';
import type { Sink } from '../../sinks/types.js';
import { takeOverDurable, type FloorMemo } from './durable-takeover.js';
import { FINDINGS_PREFIX, FINDINGS_STREAM } from './subjects.js';

export interface ForwarderOptions {
  group: string;
  sink: Sink;
  /**
   * Ids the sinks already hold among the latest findings (read back from file sinks): a takeover
   * skips them, so a finding written just before its owner died is not written twice.
   */
  delivered?: () => Promise<Set<string>>;
  /**
   * On a takeover, how long to wait before reading `delivered` back: the previous holder's last
   * writes may still be on their way into the sink (a queued file sink appends later). Default 0.
   */
  takeoverGraceMs?: number;
  ackEvery: number;
  ackIntervalMs: number;
  /**
   * False while this process cannot be sure it still holds the sinks lease (its last renewal is too
   * old): writing waits, so two holders never write at once (self-fencing by the local clock).
   */
  mayWrite?: () => boolean;
  /** Called once per finding written (latency measurements). */
  onWritten?: (finding: Finding) => void;
  /** Floors of takeovers not finished yet, kept by the owner across retries (durable-takeover.ts). */
  floors?: FloorMemo;
  log?: SinkLog;
}

export const forwarderConsumer = (group: string): string => `${group}-sinks`;

/** A finding from the stream: JSON with a string id and a rule; anything else is skipped. */
function decodeFinding(text: string): Finding | undefined {
  try {
    const value = JSON.parse(text) as Partial<Finding>;
    return typeof value.id === 'string' && typeof value.rule?.id === 'string'
      ? (value as Finding)
      : undefined;
  } catch {
    return undefined;
  }
}

export class FindingsForwarder {
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unacked: JsMsg | undefined;
  private sinceAck = 0;
  private writes: Promise<unknown>[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private skip = new Set<string>();
  private skipReady: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Set when a sink refused a finding: the owner restarts from the ack floor. */
  failed: Error | undefined;
  readonly stats = { written: 0, skipped: 0, rejected: 0 };

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly options: ForwarderOptions,
  ) {}

  /** Takes over from the consumer's ack floor at once (re-created there, no ack wait). */
  async start(): Promise<void> {
    const name = forwarderConsumer(this.options.group);
    const floors = this.options.floors ?? new Map<string, number>();
    const { previous, floor } = await takeOverDurable(this.jsm, FINDINGS_STREAM, name, floors);
    // Read back after the grace, in run(): start() returns at once (the owner's lease pass waits on
    // it), and the findings that arrive meanwhile wait for the read-back.
    const grace = this.options.takeoverGraceMs ?? 0;
    // Read back on every start, not only after a previous holder: a consumer lost with its floor
    // (deleted by hand, or a takeover that died half-way in another worker) replays from the start.
    this.skipReady = this.options.delivered
      ? new Promise<void>((resolve) => setTimeout(resolve, previous ? grace : 0))
          .then(async () => {
            this.skip = (await this.options.delivered?.()) ?? new Set();
          })
          .catch((error: unknown) => {
            // Not knowing what the sink holds, write nothing: the owner restarts the forwarder.
            this.failed ??= error instanceof Error ? error : new Error(String(error));
            this.stopped = true;
          })
      : Promise.resolve();
    const config: Partial<ConsumerConfig> = {
      durable_name: name,
      ack_policy: AckPolicy.All,
      filter_subject: `${FINDINGS_PREFIX}.>`,
      ack_wait: nanos(30_000),
      max_ack_pending: 10_000,
      ...(floor > 0
        ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: floor + 1 }
        : { deliver_policy: DeliverPolicy.All }),
    };
    await this.jsm.consumers.add(FINDINGS_STREAM, config);
    floors.delete(name);
    const consumer = await this.js.consumers.get(FINDINGS_STREAM, name);
    this.messages = await consumer.consume({ max_messages: 1024 });
    this.timer = setInterval(() => {
      if (this.unacked) void this.flush();
    }, this.options.ackIntervalMs);
    this.loop = this.run(this.messages);
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    const log = this.options.log ?? silentLog;
    await this.skipReady;
    for await (const message of messages) {
      if (this.stopped) break;
      while (this.options.mayWrite && !this.options.mayWrite() && !this.stopped)
        await new Promise((resolve) => setTimeout(resolve, 20));
      if (this.stopped) break;
      const finding = decodeFinding(message.string());
      if (!finding) {
        this.stats.rejected += 1;
        log.warn('not a finding, skipped', { subject: message.subject, seq: message.seq });
      } else if (this.skip.delete(finding.id)) {
        this.stats.skipped += 1;
      } else {
        this.writes.push(
          this.options.sink.write(finding).then(
            () => {
              this.stats.written += 1;
              this.options.onWritten?.(finding);
            },
            (error: unknown) => {
              this.failed ??= error instanceof Error ? error : new Error(String(error));
            },
          ),
        );
      }
      this.unacked = message;
      this.sinceAck += 1;
      if (this.sinceAck >= this.options.ackEvery) void this.flush();
    }
  }

  /** Acks the last finding handled (and every one before it) once the sinks took them. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const message = this.unacked;
      const writes = this.writes;
      if (!message || this.failed) return;
      this.unacked = undefined;
      this.sinceAck = 0;
      this.writes = [];
      await Promise.all(writes);
      if (this.failed) return;
      await message.ackAck().catch((error: unknown) => {
        this.failed ??= error instanceof Error ? error : new Error(String(error));
      });
    });
    return this.flushing;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.messages?.close();
    await this.loop?.catch(() => undefined);
    await this.flush();
  }
}
