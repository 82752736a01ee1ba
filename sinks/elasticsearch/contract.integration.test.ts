// Contract test against a real Elasticsearch cluster: runs only when ELASTICSEARCH_URL is set.
// Credentials: ELASTICSEARCH_API_KEY, or ELASTICSEARCH_USERNAME + ELASTICSEARCH_PASSWORD; a CA file in
// ELASTICSEARCH_CA_FILE for TLS. It writes to its own namespace and deletes its data stream at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryLog } from '../log.js';
import { validateEcs } from '../test-support/ecs-schema.js';
import { rootkitFinding, syntheticFinding } from '../test-support/findings.js';
import { createElasticsearchDestination } from './destination.js';
import type { ElasticsearchAuth } from './destination.js';
import { createElasticsearchSink } from './sink.js';

const url = process.env.ELASTICSEARCH_URL;
const run = url ? describe : describe.skip;
if (!url)
  process.stdout.write(
    'Elasticsearch contract test skipped: set ELASTICSEARCH_URL (and ELASTICSEARCH_API_KEY or ' +
      'ELASTICSEARCH_USERNAME/ELASTICSEARCH_PASSWORD, ELASTICSEARCH_CA_FILE) to run it against a real cluster.\n',
  );

const auth = (): ElasticsearchAuth | undefined =>
  process.env.ELASTICSEARCH_API_KEY
    ? { apiKey: { env: 'ELASTICSEARCH_API_KEY' } }
    : process.env.ELASTICSEARCH_USERNAME
      ? {
          username: process.env.ELASTICSEARCH_USERNAME,
          password: { env: 'ELASTICSEARCH_PASSWORD' },
        }
      : undefined;

run('Elasticsearch contract (real cluster)', () => {
  const namespace = `ringsidetest${Date.now()}`;
  const observer = { hostname: 'contract', version: '0.1.0' };
  const tls = process.env.ELASTICSEARCH_CA_FILE
    ? { caFile: process.env.ELASTICSEARCH_CA_FILE }
    : undefined;
  let directory: string;
  beforeAll(() => {
    directory = mkdtempSync(join(tmpdir(), 'ringside-contract-'));
  });
  afterAll(async () => {
    const admin = createElasticsearchDestination({
      node: url!,
      namespace,
      observer,
      auth: auth(),
      tls,
    });
    await admin.client.indices.deleteDataStream({ name: admin.dataStream }, { ignore: [404] });
    await admin.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('stores every finding once in the data stream, re-sends included, with the ECS mapping', async () => {
    const findings = [
      rootkitFinding,
      ...Array.from({ length: 199 }, (_, n) => syntheticFinding(n)),
    ];
    for (let pass = 0; pass < 2; pass += 1) {
      // The second pass re-sends everything: create with the same _id must be a no-op (409 = stored).
      const sink = await createElasticsearchSink({
        node: url!,
        namespace,
        observer,
        auth: auth(),
        tls,
        queue: { directory: join(directory, `pass-${pass}`) },
        log: memoryLog(),
      });
      await Promise.all(findings.map((finding) => sink.write(finding)));
      expect(await sink.drained(60_000)).toBe(true);
      expect(sink.metrics()).toMatchObject({ sent: findings.length, deadLettered: 0 });
      await sink.close();
    }
    const check = createElasticsearchDestination({
      node: url!,
      namespace,
      observer,
      auth: auth(),
      tls,
    });
    await check.client.indices.refresh({ index: check.dataStream });
    const { count } = await check.client.count({ index: check.dataStream });
    expect(count).toBe(findings.length);
    const found = await check.client.search({
      index: check.dataStream,
      query: { ids: { values: [rootkitFinding.id] } },
    });
    const source = found.hits.hits[0]?._source as Record<string, unknown>;
    expect(validateEcs(source)).toEqual([]);
    const mapping = await check.client.indices.getMapping({ index: check.dataStream });
    const properties = Object.values(mapping)[0]!.mappings.properties as Record<
      string,
      { properties?: Record<string, { type?: string }> }
    >;
    expect(properties.event?.properties?.severity?.type).toBe('long');
    expect(properties.ringside?.properties?.evidence?.type).toBe('flattened');
    await check.close();
  }, 180_000);
});
