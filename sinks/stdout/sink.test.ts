import { PassThrough } from 'node:stream';
import { validateEcs } from '../test-support/ecs-schema.js';
import { syntheticFinding } from '../test-support/findings.js';
import { createStdoutSink } from './sink.js';

describe('createStdoutSink', () => {
  it('writes NDJSON ECS lines and waits while the stream is full', async () => {
    const stream = new PassThrough({ highWaterMark: 1024 });
    const sink = createStdoutSink({ observer: { hostname: 'hv', version: '0.1.0' }, stream });
    let resolved = false;
    const writing = sink.write(syntheticFinding(1)).then(() => (resolved = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Nobody reads the stream yet: the line is above the high-water mark, so write() waits.
    expect(resolved).toBe(false);
    const line = (stream.read() as Buffer).toString();
    await writing;
    expect(validateEcs(JSON.parse(line) as Record<string, unknown>)).toEqual([]);
    expect(sink.metrics()).toMatchObject({ accepted: 1, sent: 1 });
    await sink.close();
  });
});
