// `ringside agent --config agent.yaml` and `ringside detect --nats URL` (rule workers): fleet mode over NATS
// JetStream (docs/fleet.md). Loaded lazily: other commands pull in no NATS code.
import type { Command } from 'commander';
import { InputError } from '../../introspect/errors.js';

const waitForSignal = (): Promise<string> =>
  new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });

export function registerFleetCommands(program: Command): void {
  program
    .command('agent')
    .description(
      'Attach every guest of this host and publish their events to NATS JetStream (buffered on disk while NATS is away)',
    )
    .option('--config <file>', 'the agent’s YAML configuration (docs/fleet.md)')
    .option('--nats <urls>', 'without --config: NATS server URLs, comma-separated')
    .option(
      '--guest <spec...>',
      'without --config: a guest to attach, e.g. qemu-pid=4242,qmp=/run/web.qmp,name=web (keys as monitor’s options; default: every QEMU of the host)',
    )
    .option('--buffer <dir>', 'without --config: the on-disk buffer', '/var/lib/ringside/agent')
    .option('--host <name>', 'without --config: this host in subjects (default: the host name)')
    .option('--listen <host:port>', 'without --config: serve /metrics and /healthz there')
    .action(
      async (options: {
        config?: string;
        nats?: string;
        guest?: string[];
        buffer: string;
        host?: string;
        listen?: string;
      }) => {
        const [{ readAgentConfig, agentConfigFromFlags, Agent }, { stderrLogFor }] =
          await Promise.all([
            import('../../pipeline/fleet/index.js'),
            import('../../sinks/log.js'),
          ]);
        if ((options.config === undefined) === (options.nats === undefined))
          throw new InputError('give either --config FILE or --nats URLS', 'ringside agent');
        const config =
          options.config !== undefined
            ? await readAgentConfig(options.config)
            : agentConfigFromFlags({
                nats: options.nats!,
                buffer: options.buffer,
                ...(options.guest ? { guest: options.guest } : {}),
                ...(options.host !== undefined ? { host: options.host } : {}),
                ...(options.listen !== undefined ? { listen: options.listen } : {}),
              });
        const agent = await Agent.start({ config, log: stderrLogFor('agent') });
        const server = config.listen
          ? await agent.metrics.serve(config.listen.host, config.listen.port)
          : undefined;
        process.stderr.write(
          `ringside agent on ${config.host}: NATS ${config.servers.join(',')}; buffer ${config.bufferDirectory}${config.listen ? `; http://${config.listen.host}:${config.listen.port}/metrics` : ''}\n`,
        );
        const signal = await waitForSignal();
        process.stderr.write(`ringside agent: ${signal}, detaching\n`);
        server?.close();
        await agent.stop();
        process.stderr.write('ringside agent: detached; unpublished events stay on disk\n');
      },
    );

  program
    .command('detect')
    .description(
      'Rule workers on the fleet’s events from NATS JetStream: workers of one --group share the guests’ partitions; without --rules, print the events as NDJSON',
    )
    .requiredOption('--nats <urls>', 'NATS server URLs, comma-separated')
    .option('--rules <paths...>', 'rule files or folders (without: print the events as NDJSON)')
    .option(
      '--sinks <file>',
      'with --rules: the group’s findings into these sinks (one worker of the group writes them)',
    )
    .option('--group <name>', 'workers with the same group share the partitions', 'ringside-rules')
    .option('--partitions <n>', 'partitions of the events, as in the servers’ mapping', '8')
    .option('--replicas <n>', 'stream replicas when the worker creates the streams', '3')
    .option('--lease-ttl <seconds>', 'a dead worker’s partitions move after this long', '10')
    .option('--from-start', 'without --rules: every stored event, not only new ones')
    .action(async (options: DetectOptions) => {
      const servers = natsServers(options.nats);
      if (!options.rules) {
        const { watchEvents } = await import('../../pipeline/fleet/event-watch.js');
        const abort = new AbortController();
        void waitForSignal().then(() => abort.abort());
        await watchEvents(
          {
            servers,
            ...(options.fromStart ? { fromStart: true } : {}),
            onWaiting: (message) => process.stderr.write(`ringside detect: ${message}\n`),
          },
          (json) => process.stdout.write(`${json}\n`),
          abort.signal,
        );
        return;
      }
      await runWorker(servers, { ...options, rules: options.rules });
    });

  const rules = program.commands.find((command) => command.name() === 'rules');
  if (!rules) throw new Error('the rules command must be registered before the fleet commands');
  rules
    .command('worker')
    .description('Same as `ringside detect --nats` with the starter rules by default')
    .requiredOption('--nats <urls>', 'NATS server URLs, comma-separated')
    .option('--rules <paths...>', 'rule files or folders (default: the starter rules)')
    .option('--durable <name>', 'the group of workers sharing the partitions', 'ringside-rules')
    .option('--replicas <n>', 'stream replicas when the worker creates the streams', '3')
    .action(
      async (options: { nats: string; rules?: string[]; durable: string; replicas: string }) => {
        await runWorker(natsServers(options.nats), {
          ...(options.rules ? { rules: options.rules } : {}),
          group: options.durable,
          partitions: '8',
          replicas: options.replicas,
          leaseTtl: '10',
        });
      },
    );
}

interface DetectOptions {
  nats: string;
  rules?: string[];
  sinks?: string;
  group: string;
  partitions: string;
  replicas: string;
  leaseTtl: string;
  fromStart?: boolean;
}

function natsServers(list: string): string[] {
  const servers = list.split(',').map((url) => url.trim());
  for (const url of servers)
    if (!/^(nats|tls):\/\/\S+$/.test(url))
      throw new InputError('not a nats:// URL', `--nats ${url}`);
  return servers;
}

async function runWorker(
  servers: string[],
  options: Omit<DetectOptions, 'nats' | 'fromStart'>,
): Promise<void> {
  const replicas = Number(options.replicas);
  if (![1, 3, 5].includes(replicas)) throw new InputError('must be 1, 3 or 5', '--replicas');
  const partitions = Number(options.partitions);
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1024)
    throw new InputError('must be an integer from 1 to 1024', '--partitions');
  const leaseTtlMs = Number(options.leaseTtl) * 1000;
  if (!(leaseTtlMs >= 1000)) throw new InputError('must be at least 1 (seconds)', '--lease-ttl');
  if (!/^[A-Za-z0-9_-]+$/.test(options.group))
    throw new InputError('must be letters, digits, _ and -', '--group');
  const [{ RuleWorker, DEFAULT_STREAM_LIMITS, idsInFileSinks }, { loadRules }, { stderrLogFor }] =
    await Promise.all([
      import('../../pipeline/fleet/index.js'),
      import('../../pipeline/index.js'),
      import('../../sinks/log.js'),
    ]);
  const rules = await loadRules(options.rules);
  // Findings on stdout (ECS NDJSON) and into the sinks file's sinks, by the worker holding their lease.
  const { openSinks, reportUndelivered } = await import('../sinks-setup.js');
  const sink = await openSinks({
    text: false,
    ...(options.sinks !== undefined ? { sinksFile: options.sinks } : {}),
  });
  let delivered: (() => Promise<Set<string>>) | undefined;
  if (options.sinks !== undefined) {
    const [{ parse }, { readFileSync }] = await Promise.all([import('yaml'), import('node:fs')]);
    const file = options.sinks;
    delivered = () => idsInFileSinks(parse(readFileSync(file, 'utf8')));
  }
  const worker = await RuleWorker.start({
    servers,
    rules,
    durable: options.group,
    partitions,
    leaseTtlMs,
    streams: { ...DEFAULT_STREAM_LIMITS, replicas },
    sink,
    ...(delivered ? { delivered } : {}),
    log: stderrLogFor('detect'),
  });
  process.stderr.write(
    `ringside detect: worker ${worker.id} in group ${options.group} (${partitions} partitions; findings to stdout${options.sinks !== undefined ? ' and the sinks' : ''} while it holds their lease)\n`,
  );
  await waitForSignal();
  await worker.stop();
  await sink.close();
  reportUndelivered(sink);
  process.stderr.write(`ringside detect: ${JSON.stringify(worker.stats)}\n`);
}
