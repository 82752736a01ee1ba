// The agent's configuration: defaults filled in, and one clear line naming the file and field when wrong.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../introspect/errors.js';
import {
  agentConfigFromFlags,
  parseAgentConfig,
  parseGuestSpec,
  parseGuestSpecs,
  readAgentConfig,
} from './agent-config.js';

describe('agent configuration', () => {
  it('fills in the defaults', () => {
    const config = parseAgentConfig(
      { host: 'h1', nats: { servers: ['nats://127.0.0.1:4222'] }, buffer: { directory: '/tmp/b' } },
      'agent.yaml',
    );
    expect(config).toMatchObject({
      host: 'h1',
      streams: { replicas: 3, duplicateWindowSeconds: 120 },
      discoverQemu: true,
      intervalMs: 5000,
      batchMs: 50,
      listen: undefined,
      guests: [],
    });
  });

  it('reads guests of each kind and the http listener', () => {
    const config = parseAgentConfig(
      {
        nats: { servers: ['nats://a:1'], streams: { replicas: 1 } },
        buffer: { directory: '/b' },
        http: { listen: '127.0.0.1:9464' },
        guests: [
          { name: 't', replay: 'trace.ndjson' },
          { qemuPid: 12, qmp: '/run/q.sock' },
          { name: 'p', pluginSocket: '/s', ram: '/r' },
        ],
      },
      'agent.yaml',
    );
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(config.guests).toHaveLength(3);
  });

  it.each([
    [{ nats: { servers: [] }, buffer: { directory: '/b' } }, 'nats.servers'],
    [{ nats: { servers: ['http://x'] }, buffer: { directory: '/b' } }, 'nats.servers.0'],
    [{ nats: { servers: ['nats://x:1'] } }, 'buffer'],
    [
      { nats: { servers: ['nats://x:1'], streams: { replicas: 2 } }, buffer: { directory: '/b' } },
      'nats.streams.replicas',
    ],
    [{ nats: { servers: ['nats://x:1'] }, buffer: { directory: '/b' }, extra: 1 }, '(top level)'],
    [
      { nats: { servers: ['nats://x:1'] }, buffer: { directory: '/b', batchMilliseconds: 5000 } },
      'buffer.batchMilliseconds',
    ],
  ])('refuses %j naming %s', (value, path) => {
    expect(() => parseAgentConfig(value, 'agent.yaml')).toThrow(InputError);
    expect(() => parseAgentConfig(value, 'agent.yaml')).toThrow(`agent.yaml: ${path}`);
  });

  it('names the file when it is not YAML or missing', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'fleet-config-'));
    const path = join(directory, 'agent.yaml');
    writeFileSync(path, 'nats: [unclosed');
    await expect(readAgentConfig(path)).rejects.toThrow(`${path}: not YAML`);
    await expect(readAgentConfig(join(directory, 'none.yaml'))).rejects.toThrow('cannot read');
  });
});

describe('agent flags', () => {
  it('builds the configuration from --nats and --guest specs', () => {
    const config = agentConfigFromFlags({
      nats: 'nats://a:1,nats://b:2',
      buffer: '/b',
      guest: [
        'qemu-pid=4242,qmp=/run/web.qmp,name=web',
        'plugin-socket=/s,ram=/r,name=a,plugins=exec+exit',
      ],
    });
    expect(config.servers).toEqual(['nats://a:1', 'nats://b:2']);
    expect(config.discoverQemu).toBe(false);
    expect(config.guests).toEqual([
      { qemuPid: 4242, qmp: '/run/web.qmp', name: 'web' },
      { pluginSocket: '/s', ram: '/r', name: 'a', plugins: ['exec', 'exit'] },
    ]);
    expect(agentConfigFromFlags({ nats: 'nats://a:1', buffer: '/b' }).discoverQemu).toBe(true);
  });

  it('names the flag when a spec is wrong', () => {
    expect(() => parseGuestSpec('pid=1')).toThrow(InputError);
    expect(() => parseGuestSpec('pid=1')).toThrow(/--guest pid=1/);
    expect(() => agentConfigFromFlags({ nats: 'http://x', buffer: '/b' })).toThrow(
      /the command line: nats.servers.0/,
    );
    expect(() =>
      agentConfigFromFlags({ nats: 'nats://a:1', buffer: '/b', guest: ['qemu-pid=x,qmp=/q'] }),
    ).toThrow(/guests.0/);
  });

  it('checks bare --guest specs as the file guests are (ringside top)', () => {
    expect(
      parseGuestSpecs([
        'replay=t.ndjson,name=r',
        'plugin-socket=/s,ram=/r,name=p,plugins=exec+cred',
      ]),
    ).toEqual([
      { replay: 't.ndjson', name: 'r' },
      { pluginSocket: '/s', ram: '/r', name: 'p', plugins: ['exec', 'cred'] },
    ]);
    // A trace without a name, a plugin guest without its RAM: refused, naming the spec.
    expect(() => parseGuestSpecs(['replay=t.ndjson'])).toThrow(/--guest replay=t.ndjson: /);
    expect(() => parseGuestSpecs(['plugin-socket=/s,name=p'])).toThrow(InputError);
  });
});
