// `ringside agent --config agent.yaml` and `ringside rules worker --nats URL`: fleet mode over NATS
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
    .requiredOption('--config <file>', 'the agent’s YAML configuration (docs/fleet.md)')
    .action(async (options: { config: string }) => {
      const [{ readAgentConfig, Agent }, { stderrLog }] = await Promise.all([
        import('../../pipeline/fleet/index.js'),
        import('../../sinks/log.js'),
      ]);
      const config = await readAgentConfig(options.config);
      const agent = await Agent.start({ config, log: stderrLog });
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
    });

  const rules = program.commands.find((command) => command.name() === 'rules');
  if (!rules) throw new Error('the rules command must be registered before the fleet commands');
  rules
    .command('worker')
    .description(
      'Run rules on the fleet’s events from JetStream; workers with the same --durable share the load',
    )
    .requiredOption('--nats <urls>', 'NATS server URLs, comma-separated')
    .option('--rules <paths...>', 'rule files or folders (default: the starter rules)')
    .option('--durable <name>', 'durable consumer shared by the workers', 'ringside-rules')
    .option('--replicas <n>', 'stream replicas when the worker creates the streams', '3')
    .action(
      async (options: { nats: string; rules?: string[]; durable: string; replicas: string }) => {
        const replicas = Number(options.replicas);
        if (![1, 3, 5].includes(replicas)) throw new InputError('must be 1, 3 or 5', '--replicas');
        const servers = options.nats.split(',').map((url) => url.trim());
        for (const url of servers)
          if (!/^(nats|tls):\/\/\S+$/.test(url))
            throw new InputError('not a nats:// URL', `--nats ${url}`);
        const [{ RuleWorker, DEFAULT_STREAM_LIMITS }, { loadRules }, { stderrLog }] =
          await Promise.all([
            import('../../pipeline/fleet/index.js'),
            import('../../pipeline/index.js'),
            import('../../sinks/log.js'),
          ]);
        const worker = await RuleWorker.start({
          servers,
          rules: await loadRules(options.rules),
          durable: options.durable,
          streams: { ...DEFAULT_STREAM_LIMITS, replicas },
          log: stderrLog,
        });
        process.stderr.write(`ringside rules worker: consuming as ${options.durable}\n`);
        await waitForSignal();
        await worker.stop();
        process.stderr.write(`ringside rules worker: ${JSON.stringify(worker.stats)}\n`);
      },
    );
}
