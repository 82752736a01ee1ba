// A local HTTP server that speaks Splunk's HTTP Event Collector: /services/collector/event (token auth,
// batched JSON events, ackId per request when the channel header is given) and /services/collector/ack.
// Faults: "server busy" 503s, acknowledgements that never come, a malformed event refused with code 6.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface HecFaults {
  /** Share of event requests answered 503 code 9 (server busy). */
  busyRate?: number;
  /** Share of accepted requests whose ackId never becomes true (events are indexed all the same). */
  lostAckRate?: number;
  /** Events the server refuses with code 6 (invalid data format). */
  invalid?: (event: Record<string, unknown>) => boolean;
}

export class FakeHec {
  readonly events: Record<string, unknown>[] = [];
  readonly counts = { requests: 0, busy: 0, unauthorized: 0, ackPolls: 0, lostAcks: 0, invalid: 0 };
  faults: HecFaults = {};
  /**
   * Indexer acknowledgement enabled on the token (Splunk's useACK). Off, like Splunk: events sent with a
   * channel are answered "Success" without an ackId, and /services/collector/ack answers 400 code 14.
   */
  tokenAcks = true;
  private readonly acks = new Map<number, { ready: number; lost: boolean }>();
  private nextAckId = 0;
  private state = 1;
  private readonly server: Server;

  private constructor(
    private readonly token: string,
    /** Polls before an ackId turns true. */
    private readonly ackAfterPolls: number,
    private readonly tls?: { key: Buffer; cert: Buffer },
  ) {
    const handler = (request: IncomingMessage, response: ServerResponse) =>
      void this.handle(request, response);
    this.server = tls ? createTlsServer(tls, handler) : createServer(handler);
  }

  /** Serves HTTPS (for localhost) when given a key and certificate (PEM). */
  static async start(
    token: string,
    ackAfterPolls = 1,
    tls?: { key: Buffer; cert: Buffer },
  ): Promise<FakeHec> {
    const hec = new FakeHec(token, ackAfterPolls, tls);
    await new Promise<void>((resolve) => hec.server.listen(0, '127.0.0.1', resolve));
    return hec;
  }

  get url(): string {
    const host = this.tls ? 'https://localhost' : 'http://127.0.0.1';
    return `${host}:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private random(): number {
    this.state = (this.state * 1103515245 + 12345) % 2147483648;
    return this.state / 2147483648;
  }

  private answer(response: ServerResponse, status: number, body: unknown): void {
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const path = (request.url ?? '').split('?')[0];
    // The health endpoint needs no token, as in Splunk.
    if (path === '/services/collector/health')
      return this.answer(response, 200, { text: 'HEC is healthy', code: 17 });
    const authorization = request.headers.authorization;
    if (authorization === undefined) {
      this.counts.unauthorized += 1;
      return this.answer(response, 401, { text: 'Token is required', code: 2 });
    }
    if (authorization !== `Splunk ${this.token}`) {
      this.counts.unauthorized += 1;
      return this.answer(response, 403, { text: 'Invalid token', code: 4 });
    }
    const channel = request.headers['x-splunk-request-channel'];
    if (path === '/services/collector/ack') {
      this.counts.ackPolls += 1;
      if (!this.tokenAcks) return this.answer(response, 400, { text: 'ACK is disabled', code: 14 });
      const asked = (JSON.parse(text) as { acks: number[] }).acks;
      const acks: Record<string, boolean> = {};
      for (const id of asked) {
        const ack = this.acks.get(id);
        if (ack) ack.ready -= 1;
        acks[String(id)] = ack !== undefined && !ack.lost && ack.ready <= 0;
      }
      return this.answer(response, 200, { acks });
    }
    if (path !== '/services/collector/event')
      return this.answer(response, 404, { text: 'Not found', code: 404 });
    this.counts.requests += 1;
    if (this.random() < (this.faults.busyRate ?? 0)) {
      this.counts.busy += 1;
      return this.answer(response, 503, { text: 'Server is busy', code: 9 });
    }
    // Events are concatenated JSON objects; the sink separates them with newlines.
    const events = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const invalid = events.findIndex((event) => this.faults.invalid?.(event) ?? false);
    if (invalid >= 0) {
      this.counts.invalid += 1;
      // Like HEC, the events before the invalid one are indexed.
      this.events.push(...events.slice(0, invalid));
      return this.answer(response, 400, {
        text: 'Invalid data format',
        code: 6,
        'invalid-event-number': invalid,
      });
    }
    this.events.push(...events);
    if (channel === undefined || !this.tokenAcks)
      return this.answer(response, 200, { text: 'Success', code: 0 });
    const ackId = this.nextAckId++;
    const lost = this.random() < (this.faults.lostAckRate ?? 0);
    if (lost) this.counts.lostAcks += 1;
    this.acks.set(ackId, { ready: this.ackAfterPolls, lost });
    return this.answer(response, 200, { text: 'Success', code: 0, ackId });
  }
}
