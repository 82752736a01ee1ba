// `ringside rules worker`: rules on the fleet's events. Workers share one durable pull consumer (each
// message goes to one of them); findings are published with their id as Nats-Msg-Id, the event acked after.
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Finding } from '../../introspect/events/finding.js';
import { toJson } from '../../introspect/events/json.js';
import { decodeTraceEvent } from '../../introspect/events/trace.js';
import { Detector, RuleEngine, type Ruleset } from '../../rules/index.js';
import { silentLog, type SinkLog } from '../../sinks/log.js';
import { ensureStreams, type StreamLimits } from './streams.js';
import { EVENTS_PREFIX, EVENTS_STREAM, findingSubject, parseSubject } from './subjects.js';

export interface RuleWorkerOptions {
  servers: string[];
  rules: Ruleset | RuleEngine;
  /** The durable consumer's name; workers with the same name share the events. Default ringside-rules. */
  durable?: string;
  streams: StreamLimits;
  /** Unacknowledged events per consumer before JetStream stops handing out more. Default 10 000. */
  maxAckPending?: number;
  log?: SinkLog;
}

export interface RuleWorkerStats {
  events: number;
  findings: number;
  /** Events that were not JSON events (acked with term so they are not redelivered forever). */
  rejected: number;
  /** Findings whose publish failed; their event was nak'ed for redelivery. */
  retried: number;
}

export class RuleWorker {
  readonly stats: RuleWorkerStats = { events: 0, findings: 0, rejected: 0, retried: 0 };
  private stopping = false;
  private loop: Promise<void> | undefined;
  private stopConsume: (() => void) | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly options: RuleWorkerOptions,
  ) {}

  static async start(options: RuleWorkerOptions): Promise<RuleWorker> {
    const nc = await connect({
      servers: options.servers,
      name: 'ringside-rules-worker',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, options.streams);
    const durable = options.durable ?? 'ringside-rules';
    const config = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: `${EVENTS_PREFIX}.>`,
      ack_wait: 30_000_000_000,
      max_ack_pending: options.maxAckPending ?? 10_000,
    };
    // Created once; a second worker finds it and shares it.
    await jsm.consumers
      .info(EVENTS_STREAM, durable)
      .catch(() => jsm.consumers.add(EVENTS_STREAM, config));
    const worker = new RuleWorker(nc, options);
    worker.loop = worker.run(durable);
    return worker;
  }

  private async run(durable: string): Promise<void> {
    const js = jetstream(this.nc);
    const log = this.options.log ?? silentLog;
    const engine =
      this.options.rules instanceof RuleEngine
        ? this.options.rules
        : new RuleEngine(this.options.rules);
    const detector = new Detector(engine);
    const consumer = await js.consumers.get(EVENTS_STREAM, durable);
    while (!this.stopping) {
      const messages = await consumer.consume({ max_messages: 512 });
      this.stopConsume = () => void messages.close();
      for await (const message of messages) {
        await this.handle(message, detector, js.publish.bind(js), log);
        if (this.stopping) break;
      }
    }
  }

  private async handle(
    message: JsMsg,
    detector: Detector,
    publish: ReturnType<typeof jetstream>['publish'],
    log: SinkLog,
  ): Promise<void> {
    let event;
    try {
      event = decodeTraceEvent(message.string(), message.subject);
    } catch (error) {
      this.stats.rejected += 1;
      log.warn('not an event, dropped', {
        subject: message.subject,
        error: (error as Error).message,
      });
      message.term();
      return;
    }
    this.stats.events += 1;
    const findings: Finding[] = [];
    detector.process(event, (finding) => findings.push(finding));
    const where = parseSubject(message.subject);
    try {
      for (const finding of findings)
        await publish(
          findingSubject(where?.host ?? 'unknown', where?.guest ?? finding.host.name),
          toJson(finding),
          {
            msgID: finding.id,
          },
        );
    } catch (error) {
      // Not stored: the event comes again (same findings, same ids: the duplicate window drops any
      // that did get stored).
      this.stats.retried += 1;
      log.warn('finding not stored, event redelivered', { error: (error as Error).message });
      message.nak(1000);
      return;
    }
    this.stats.findings += findings.length;
    message.ack();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stopConsume?.();
    await this.loop?.catch(() => undefined);
    await this.nc.drain().catch(() => undefined);
  }
}
