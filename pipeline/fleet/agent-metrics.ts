// The agent's Prometheus metrics (prom-client) and its HTTP endpoints: /metrics for Prometheus and
// /healthz (200 while the agent runs; the body says whether NATS takes its events or it buffers).
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { OutboxMetrics } from './jetstream-outbox.js';

export type GuestState = { name: string; mode: string; attached: boolean };

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly events: Counter<'guest'>;
  private readonly droppedEvents: Counter<'guest'>;
  private readonly attachFailures: Counter<'guest'>;
  private readonly guestUp: Gauge<'guest' | 'mode'>;

  constructor(outbox: () => OutboxMetrics, guests: () => GuestState[]) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'ringside_agent_' });
    this.events = new Counter({
      name: 'ringside_agent_events_total',
      help: 'Events taken from each guest (rate() of it is events/s)',
      labelNames: ['guest'],
      registers,
    });
    this.droppedEvents = new Counter({
      name: 'ringside_agent_events_dropped_total',
      help: 'Events of each guest not buffered (the disk buffer blocked past its bound, or a write failed)',
      labelNames: ['guest'],
      registers,
    });
    this.attachFailures = new Counter({
      name: 'ringside_agent_attach_failures_total',
      help: 'Failed attaches per guest (each is retried with back-off)',
      labelNames: ['guest'],
      registers,
    });
    this.guestUp = new Gauge({
      name: 'ringside_agent_guest_attached',
      help: '1 while a guest is attached',
      labelNames: ['guest', 'mode'],
      registers,
    });
    const fromOutbox = (name: string, help: string, read: (m: OutboxMetrics) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(outbox()));
        },
      });
    };
    fromOutbox(
      'ringside_agent_queue_records',
      'Events buffered on disk, not yet acknowledged by JetStream',
      (m) => m.queuedRecords,
    );
    fromOutbox('ringside_agent_queue_bytes', 'Bytes buffered on disk', (m) => m.queuedBytes);
    fromOutbox(
      'ringside_agent_published_total',
      'Events JetStream acknowledged',
      (m) => m.published,
    );
    fromOutbox(
      'ringside_agent_publish_duplicates_total',
      'Re-sends JetStream recognised by Nats-Msg-Id',
      (m) => m.duplicates,
    );
    fromOutbox(
      'ringside_agent_publish_failures_total',
      'Failed publish attempts (retried)',
      (m) => m.failures,
    );
    fromOutbox(
      'ringside_agent_nats_healthy',
      '1 while publishing succeeds, 0 while buffering',
      (m) => (m.healthy ? 1 : 0),
    );
    new Gauge({
      name: 'ringside_agent_guests',
      help: 'Guests attached',
      registers,
      collect() {
        this.set(guests().filter((g) => g.attached).length);
      },
    });
    this.health = () => ({ outbox: outbox(), guests: guests() });
  }

  private readonly health: () => { outbox: OutboxMetrics; guests: GuestState[] };

  event(guest: string): void {
    this.events.inc({ guest });
  }
  dropped(guest: string, events = 1): void {
    this.droppedEvents.inc({ guest }, events);
  }
  attachFailed(guest: string): void {
    this.attachFailures.inc({ guest });
  }
  attached(guest: string, mode: string): void {
    this.guestUp.set({ guest, mode }, 1);
  }
  detached(guest: string): void {
    for (const mode of ['replay', 'plugin', 'qemu-process']) this.guestUp.remove({ guest, mode });
  }

  /** Serves /metrics and /healthz on host:port (loopback by default in the docs). */
  async serve(host: string, port: number): Promise<Server> {
    const server = createServer((request, response) => {
      if (request.url === '/metrics') {
        this.registry.metrics().then(
          (text) => {
            response.writeHead(200, { 'content-type': this.registry.contentType });
            response.end(text);
          },
          (error: unknown) => {
            response.writeHead(500);
            response.end(String(error));
          },
        );
        return;
      }
      if (request.url === '/healthz') {
        const { outbox, guests } = this.health();
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            status: outbox.healthy ? 'ok' : 'buffering',
            nats: outbox.healthy ? 'publishing' : (outbox.lastError ?? 'retrying'),
            queued: outbox.queuedRecords,
            guests,
          }),
        );
        return;
      }
      response.writeHead(404);
      response.end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return server;
  }
}
