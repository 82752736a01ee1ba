// A local HTTP server that speaks the Elasticsearch calls the sink makes (root info, index template,
// data stream, _bulk with create) and stores documents by _id like a data stream does: a second create
// of an _id answers 409. Faults can be injected: down, 429/500 on whole requests, per-item 429s,
// a response lost after storing, mapping errors for chosen documents, a hook to hold a request.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { seededRandom as random } from '../../../introspect/test-support/seeded-random.js';

export interface EsFaults {
  /** Share of bulk requests answered 429 as a whole (nothing stored). */
  throttleRate?: number;
  /** Share of bulk requests answered 500 as a whole (nothing stored). */
  errorRate?: number;
  /** Share of items answered 429 es_rejected_execution_exception (that item not stored). */
  itemFailureRate?: number;
  /** Share of bulk requests whose documents are stored but whose response is lost (socket destroyed). */
  lostResponseRate?: number;
  /** A proxy's body limit: bulk requests larger than this many bytes are answered 413 (nothing stored). */
  maxBodyBytes?: number;
  /** Documents refused with a mapping error (400 document_parsing_exception). */
  poison?: (document: string) => boolean;
}

export interface FakeElasticsearchOptions {
  faults?: EsFaults;
  /** Seed of the fault generator, so a failing run can be replayed. */
  seed?: number;
  /** Require this API key (Authorization: ApiKey <key>). */
  apiKey?: string;
  /** Require basic authentication with these credentials. */
  basic?: { username: string; password: string };
  /** Serve HTTPS with this key and certificate (PEM). */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Called for each bulk request after its documents are stored and before it is answered. */
  beforeBulkResponse?: (requestNumber: number) => Promise<void> | void;
}

export class FakeElasticsearch {
  readonly stored = new Map<string, string>();
  readonly templates = new Map<string, unknown>();
  readonly dataStreams = new Set<string>();
  readonly counts = {
    bulk: 0,
    throttled: 0,
    errored: 0,
    lost: 0,
    conflicts: 0,
    itemFailures: 0,
    rejected: 0,
    unauthorized: 0,
    tooLarge: 0,
  };
  faults: EsFaults;
  beforeBulkResponse: FakeElasticsearchOptions['beforeBulkResponse'];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly random: () => number;
  private port = 0;
  private readonly expectedAuthorization: string | undefined;
  private readonly protocol: string;

  private constructor(options: FakeElasticsearchOptions) {
    this.faults = options.faults ?? {};
    this.random = random(options.seed ?? 1);
    this.expectedAuthorization =
      options.apiKey !== undefined
        ? `ApiKey ${options.apiKey}`
        : options.basic !== undefined
          ? `Basic ${Buffer.from(`${options.basic.username}:${options.basic.password}`).toString('base64')}`
          : undefined;
    this.beforeBulkResponse = options.beforeBulkResponse;
    const handler = (request: IncomingMessage, response: ServerResponse): void => {
      this.handle(request, response).catch((error: unknown) => {
        response.destroy(error instanceof Error ? error : new Error(String(error)));
      });
    };
    this.server = options.tls ? createTlsServer(options.tls, handler) : createServer(handler);
    this.protocol = options.tls ? 'https' : 'http';
    this.server.keepAliveTimeout = 60_000;
    this.server.on(options.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(options: FakeElasticsearchOptions = {}): Promise<FakeElasticsearch> {
    const server = new FakeElasticsearch(options);
    await server.up();
    return server;
  }

  get url(): string {
    return `${this.protocol}://127.0.0.1:${this.port}`;
  }

  /** Starts listening (again, on the same port after down()). */
  async up(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** Stops listening and cuts every open connection: the cluster is unreachable until up(). */
  async down(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  async stop(): Promise<void> {
    if (this.server.listening) await this.down();
  }

  private send(response: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    response.writeHead(status, {
      'content-type': 'application/json',
      'x-elastic-product': 'Elasticsearch',
      'content-length': Buffer.byteLength(text),
    });
    response.end(text);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = (request.url ?? '/').split('?')[0]!;
    if (
      this.expectedAuthorization !== undefined &&
      request.headers.authorization !== this.expectedAuthorization
    ) {
      this.counts.unauthorized += 1;
      return this.send(response, 401, {
        error: { type: 'security_exception', reason: 'missing authentication credentials' },
        status: 401,
      });
    }
    if (request.method === 'GET' && path === '/')
      return this.send(response, 200, {
        name: 'fake',
        cluster_name: 'fake',
        version: { number: '9.0.0' },
        tagline: 'You Know, for Search',
      });
    let match = /^\/_index_template\/([^/]+)$/.exec(path);
    if (match && request.method === 'PUT') {
      this.templates.set(decodeURIComponent(match[1]!), JSON.parse(body));
      return this.send(response, 200, { acknowledged: true });
    }
    match = /^\/_data_stream\/([^/]+)$/.exec(path);
    if (match && request.method === 'PUT') {
      const name = decodeURIComponent(match[1]!);
      if (this.dataStreams.has(name))
        return this.send(response, 400, {
          error: {
            type: 'resource_already_exists_exception',
            reason: `data_stream [${name}] already exists`,
          },
          status: 400,
        });
      this.dataStreams.add(name);
      return this.send(response, 200, { acknowledged: true });
    }
    match = /^(?:\/([^/]+))?\/_bulk$/.exec(path);
    if (match && (request.method === 'POST' || request.method === 'PUT'))
      return this.bulk(match[1] ? decodeURIComponent(match[1]) : undefined, body, response);
    return this.send(response, 404, { error: { type: 'not_found', reason: path }, status: 404 });
  }

  private async bulk(
    index: string | undefined,
    body: string,
    response: ServerResponse,
  ): Promise<void> {
    this.counts.bulk += 1;
    const requestNumber = this.counts.bulk;
    const faults = this.faults;
    if (faults.maxBodyBytes !== undefined && Buffer.byteLength(body) > faults.maxBodyBytes) {
      this.counts.tooLarge += 1;
      return this.send(response, 413, {
        error: { type: 'request_entity_too_large', reason: 'body too large' },
        status: 413,
      });
    }
    if (this.random() < (faults.throttleRate ?? 0)) {
      this.counts.throttled += 1;
      return this.send(response, 429, {
        error: { type: 'es_rejected_execution_exception', reason: 'rejected' },
        status: 429,
      });
    }
    if (this.random() < (faults.errorRate ?? 0)) {
      this.counts.errored += 1;
      return this.send(response, 500, {
        error: { type: 'internal_server_error', reason: 'injected' },
        status: 500,
      });
    }
    const lines = body.split('\n');
    const items: unknown[] = [];
    for (let line = 0; line + 1 < lines.length; line += 2) {
      if (lines[line] === '') break;
      const action = JSON.parse(lines[line]!) as { create?: { _id?: string; _index?: string } };
      const document = lines[line + 1]!;
      const target = action.create?._index ?? index ?? '';
      const id = action.create?._id;
      if (!action.create || id === undefined) {
        items.push({
          index: {
            status: 400,
            error: {
              type: 'illegal_argument_exception',
              reason: 'only create with _id is expected',
            },
          },
        });
        continue;
      }
      const answer = (status: number, error?: { type: string; reason: string }) =>
        items.push({
          create: { _index: `.ds-${target}-000001`, _id: id, status, ...(error ? { error } : {}) },
        });
      if (this.stored.has(id)) {
        this.counts.conflicts += 1;
        answer(409, {
          type: 'version_conflict_engine_exception',
          reason: `[${id}]: version conflict, document already exists`,
        });
      } else if (faults.poison?.(document)) {
        this.counts.rejected += 1;
        answer(400, {
          type: 'document_parsing_exception',
          reason: '[1:2] failed to parse field [ringside.poison]',
        });
      } else if (this.random() < (faults.itemFailureRate ?? 0)) {
        this.counts.itemFailures += 1;
        answer(429, {
          type: 'es_rejected_execution_exception',
          reason: 'rejected execution of coordinating operation',
        });
      } else {
        this.stored.set(id, document);
        answer(201);
      }
    }
    await this.beforeBulkResponse?.(requestNumber);
    if (this.random() < (faults.lostResponseRate ?? 0)) {
      this.counts.lost += 1;
      response.socket?.destroy();
      return;
    }
    this.send(response, 200, {
      took: 1,
      errors: items.some((item) => JSON.stringify(item).includes('"error"')),
      items,
    });
  }
}
