// Unit tests of the Elasticsearch destination against @elastic/elasticsearch-mock (the HTTP layer only);
// destination.integration.test.ts runs the same sink against a real HTTP server with faults.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateEcs } from '../test-support/ecs-schema.js';
import { rootkitFinding, syntheticFinding } from '../test-support/findings.js';
import { SinkError } from '../errors.js';
import { bulkBody, createElasticsearchDestination } from './destination.js';
import { FakeElasticsearch } from './test-support/fake-elasticsearch.js';

// The mock is CommonJS and checks `instanceof` against the CommonJS build of the client, so errors it
// should answer with are made from that build too.
const require = createRequire(import.meta.url);
interface MockApi {
  add(
    pattern: { method: string | string[]; path: string | string[] },
    resolver: (params: MockParams) => unknown,
  ): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the client's Connection constructor
  getConnection(): new (...args: any[]) => { close(): Promise<void> };
}
const Mock = require('@elastic/elasticsearch-mock') as new () => MockApi;
const { errors } = require('@elastic/elasticsearch') as typeof import('@elastic/elasticsearch');

type MockParams = {
  body?: Record<string, unknown>[] | Record<string, unknown> | null;
  path: string;
};

const observer = { hostname: 'hv-1', version: '0.1.0' };
const responseError = (statusCode: number, body: unknown) =>
  new errors.ResponseError({ body, statusCode, headers: {}, warnings: null, meta: {} as never });

function setup(environment: Record<string, string> = { ES_API_KEY: 'c2VjcmV0LWFwaS1rZXk6eHl6' }) {
  const mock = new Mock();
  const destination = createElasticsearchDestination(
    {
      node: 'http://127.0.0.1:9200',
      namespace: 'prod',
      observer,
      auth: { apiKey: { env: 'ES_API_KEY' } },
      // The mock's connection has no close(), which the client calls on close.
      connection: class extends mock.getConnection() {
        override async close(): Promise<void> {}
      } as never,
    },
    environment,
  );
  return { mock, destination };
}

/** Answers a bulk request with one item per create, statuses chosen by `status(index)`. */
function bulkAnswer(status: (index: number) => { status: number; error?: unknown }) {
  return (params: MockParams) => {
    const lines = params.body as Record<string, unknown>[];
    const items = [];
    for (let index = 0; index < lines.length / 2; index += 1) {
      const action = lines[index * 2] as { create: { _id: string } };
      items.push({
        create: {
          _index: '.ds-logs-ringside.findings-prod',
          _id: action.create._id,
          ...status(index),
        },
      });
    }
    return { took: 1, errors: items.some((item) => item.create.status >= 300), items };
  };
}

describe('createElasticsearchDestination', () => {
  it('installs the index template and creates the data stream on start', async () => {
    const { mock, destination } = setup();
    const calls: string[] = [];
    mock.add({ method: 'PUT', path: '/_index_template/:name' }, (params: MockParams) => {
      calls.push(params.path);
      expect(params.body).toMatchObject({
        index_patterns: ['logs-ringside.findings-*'],
        data_stream: {},
      });
      return { acknowledged: true };
    });
    mock.add({ method: 'PUT', path: '/_data_stream/:name' }, (params: MockParams) => {
      calls.push(params.path);
      return responseError(400, {
        error: { type: 'resource_already_exists_exception', reason: 'exists' },
      });
    });
    await destination.start!();
    expect(calls).toEqual([
      '/_index_template/logs-ringside.findings',
      '/_data_stream/logs-ringside.findings-prod',
    ]);
    await destination.close();
  });

  it('sends bulk create with the stable id as _id and an ECS document', async () => {
    const { mock, destination } = setup();
    let seen: Record<string, unknown>[] = [];
    mock.add({ method: ['POST', 'PUT'], path: '/:index/_bulk' }, (params: MockParams) => {
      expect(params.path).toBe('/logs-ringside.findings-prod/_bulk');
      seen = params.body as Record<string, unknown>[];
      return bulkAnswer(() => ({ status: 201 }))(params);
    });
    const outcome = await destination.send([destination.encode(rootkitFinding)]);
    expect(outcome).toEqual({ retry: [], rejected: [] });
    expect(seen[0]).toEqual({ create: { _id: rootkitFinding.id } });
    expect(validateEcs(seen[1]!)).toEqual([]);
    expect(seen[1]).toMatchObject({ event: { kind: 'alert', id: rootkitFinding.id } });
    await destination.close();
  });

  it("builds the same bulk body from the queue's bytes as from the texts", () => {
    const records = [
      { id: 'a"1', body: '{"m":"é€😀"}' },
      { id: 'b', body: '{"m":"\\n"}' },
    ];
    const text = bulkBody(records);
    expect(text).toBe(
      '{"create":{"_id":"a\\"1"}}\n{"m":"é€😀"}\n{"create":{"_id":"b"}}\n{"m":"\\n"}\n',
    );
    const fromBytes = bulkBody(records.map((r) => ({ ...r, bytes: Buffer.from(r.body) })));
    expect(Buffer.isBuffer(fromBytes)).toBe(true);
    expect(fromBytes.toString()).toBe(text);
  });

  it('classifies every item: 409 on create is stored, 429/5xx retry, mapping errors are refused', async () => {
    const { mock, destination } = setup();
    const answers = [
      { status: 201 },
      {
        status: 409,
        error: { type: 'version_conflict_engine_exception', reason: 'document already exists' },
      },
      { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'queue full' } },
      {
        status: 503,
        error: { type: 'unavailable_shards_exception', reason: 'primary shard not active' },
      },
      {
        status: 400,
        error: { type: 'document_parsing_exception', reason: 'failed to parse field [host.name]' },
      },
    ];
    mock.add(
      { method: ['POST', 'PUT'], path: '/:index/_bulk' },
      bulkAnswer((index) => answers[index]!),
    );
    const batch = answers.map((_, n) => destination.encode(syntheticFinding(n)));
    expect(await destination.send(batch)).toEqual({
      retry: [
        { index: 2, reason: '429 es_rejected_execution_exception: queue full' },
        { index: 3, reason: '503 unavailable_shards_exception: primary shard not active' },
      ],
      rejected: [
        { index: 4, reason: '400 document_parsing_exception: failed to parse field [host.name]' },
      ],
    });
    await destination.close();
  });

  it.each([
    [429, 'THROTTLED', true],
    [503, 'UNAVAILABLE', true],
    [401, 'REFUSED', true],
  ])('turns a whole-request %i into a %s SinkError', async (status, failure, retryable) => {
    const { mock, destination } = setup();
    mock.add({ method: ['POST', 'PUT'], path: '/:index/_bulk' }, () =>
      responseError(status, { error: { type: 'some_exception', reason: 'bad' }, status }),
    );
    const error = await destination
      .send([destination.encode(syntheticFinding(1))])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkError);
    expect(error).toMatchObject({ failure, retryable, status });
    await destination.close();
  });

  it('treats a response with the wrong number of items as a failed request', async () => {
    const { mock, destination } = setup();
    mock.add({ method: ['POST', 'PUT'], path: '/:index/_bulk' }, () => ({
      took: 1,
      errors: false,
      items: [],
    }));
    await expect(destination.send([destination.encode(syntheticFinding(1))])).rejects.toMatchObject(
      {
        failure: 'UNAVAILABLE',
      },
    );
    await destination.close();
  });

  it('reads credentials from the environment and refuses them in the URL', () => {
    expect(() => setup({})).toThrow('$ES_API_KEY: environment variable is not set or empty');
    expect(() =>
      createElasticsearchDestination({ node: 'https://elastic:changeme@es:9200', observer }),
    ).toThrow(/credentials in the URL are refused/);
    expect(() =>
      createElasticsearchDestination({ node: 'https://es:9200', observer, namespace: 'Bad-Name' }),
    ).toThrow(/namespace/);
  });

  it('never lets the API key into an error message', async () => {
    const { mock, destination } = setup({ ES_API_KEY: 'super-secret-key-123' });
    mock.add({ method: ['POST', 'PUT'], path: '/:index/_bulk' }, () =>
      responseError(401, {
        error: {
          type: 'security_exception',
          reason: 'unable to authenticate with super-secret-key-123',
        },
      }),
    );
    const error = (await destination
      .send([destination.encode(syntheticFinding(1))])
      .catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('security_exception');
    expect(error.message).not.toContain('super-secret-key-123');
    expect(error.message).toContain('[REDACTED]');
    await destination.close();
  });

  it('authenticates with basic credentials whose password comes from a file, and hides it', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'ringside-basic-'));
    const server = await FakeElasticsearch.start({
      basic: { username: 'ringside', password: 'c0rrect-horse' },
    });
    try {
      writeFileSync(join(directory, 'good'), 'c0rrect-horse\n');
      writeFileSync(join(directory, 'bad'), 'wr0ng-battery\n');
      const make = (file: string) =>
        createElasticsearchDestination({
          node: server.url,
          observer,
          auth: { username: 'ringside', password: { file: join(directory, file) } },
        });
      const good = make('good');
      expect(await good.send([good.encode(syntheticFinding(1))])).toEqual({
        retry: [],
        rejected: [],
      });
      await good.close();
      expect(server.stored.size).toBe(1);

      const bad = make('bad');
      const error = (await bad
        .send([bad.encode(syntheticFinding(2))])
        .catch((e: unknown) => e)) as SinkError;
      await bad.close();
      expect(error).toMatchObject({ failure: 'REFUSED', status: 401 });
      expect(error.message).not.toContain('wr0ng-battery');
      expect(server.stored.size).toBe(1);
    } finally {
      await server.stop();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
