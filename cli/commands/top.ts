// `ringside top --guest SPEC --guest SPEC …`: the live terminal view of several guests at once (event
// rates, newest findings, process trees), each attached as the fleet agent's `--guest` specs say.
import { accessSync, constants } from 'node:fs';
import type { Command } from 'commander';
import { InputError, RingsideError } from '../../introspect/errors.js';
import type { VmiEvent } from '../../introspect/events/event.js';
import type { Finding } from '../../introspect/events/finding.js';

interface TopOptions {
  guest: string[];
  rules?: string[];
  sinks?: string;
}

/** A guest the view shows: how to stop it once the user quits. */
interface Attached {
  name: string;
  close: () => Promise<void>;
  unsubscribe: () => void;
}

export function registerTopCommand(program: Command): void {
  program
    .command('top')
    .description(
      'A live terminal view of several guests at once: per-guest event rates, the newest findings, process trees; q quits',
    )
    .requiredOption(
      '--guest <spec...>',
      'a guest, as key=value pairs with monitor’s option names (repeat for each): plugin-socket=S,ram=F,name=N[,qmp=Q] | qemu-pid=P,qmp=Q | qemu=NAME,qmp=Q | replay=TRACE.ndjson,name=N; plugins=a+b picks detectors',
    )
    .option('--rules <paths...>', 'rule files or folders (default: the starter rules)')
    .option('--sinks <file>', 'also send findings to the sinks in this YAML/JSON file')
    .action(async (options: TopOptions) => {
      const { checkTerminal, attachGuest } = await import('../tui/monitor-view.js');
      checkTerminal('top');
      const [
        { parseGuestSpecs },
        { configuredGuests },
        { concatMap, config, tap },
        { liveFindings, loadRules, openDomain, openGuestKernel },
        { chooseDetectors, runnableDetectors, DETECTOR_NAMES },
        { detect },
        { openSinks, reportUndelivered },
        { TopModel },
        { openTopScreen },
      ] = await Promise.all([
        import('../../pipeline/fleet/agent-config.js'),
        import('../../pipeline/fleet/guest-sources.js'),
        import('rxjs'),
        import('../../pipeline/index.js'),
        import('../../plugins/index.js'),
        import('../../rules/index.js'),
        import('../sinks-setup.js'),
        import('../tui/top-model.js'),
        import('../tui/top-app.js'),
      ]);
      const { guests: candidates } = await configuredGuests({
        guests: parseGuestSpecs(options.guest),
        plugins: undefined,
      })();
      const names = candidates.map((candidate) => candidate.name);
      const twice = names.find((name, index) => names.indexOf(name) !== index);
      if (twice !== undefined)
        throw new RingsideError(
          'BAD_INPUT',
          `two --guest specs are named ${twice}: give each a name=`,
        );
      // A trace is read once subscribed, in the view: a missing one is refused here, named.
      for (const { spec } of candidates)
        if (spec.kind === 'replay')
          try {
            accessSync(spec.path, constants.R_OK);
          } catch (error) {
            throw new InputError('cannot read the trace', spec.path, { cause: error });
          }
      const rules = await loadRules(options.rules);
      const sink = options.sinks
        ? await openSinks({ text: false, sinksFile: options.sinks, stdout: false })
        : undefined;
      const model = new TopModel();
      const attached: Attached[] = [];
      let screen: ReturnType<typeof openTopScreen> | undefined;
      const say = (line: string) =>
        screen ? model.notice(line) : process.stderr.write(`ringside: ${line}\n`);
      config.onUnhandledError = (error) => say(`subscriber failed: ${String(error)}`);
      const delivered = async (finding: Finding) => {
        await sink?.write(finding);
        return finding;
      };
      try {
        // Every guest attached before the view opens: one that cannot be is named, exit 2.
        for (const candidate of candidates) {
          const { domain } = await openDomain(candidate.spec);
          const guest: Attached = {
            name: candidate.name,
            close: () => domain.close(),
            unsubscribe: () => undefined,
          };
          attached.push(guest);
          const onEvent = (event: VmiEvent) => model.event(event, Date.now(), candidate.name);
          const findings =
            candidate.mode !== 'replay'
              ? (() => {
                  const kernel = openGuestKernel(domain);
                  // No plugins= : every detector this guest can serve, as monitor does.
                  const { runnable, refused } = runnableDetectors(
                    chooseDetectors(
                      candidate.plugins.length > 0 ? candidate.plugins : DETECTOR_NAMES,
                    ),
                    { domain, kernel },
                  );
                  for (const line of refused) say(`warning: ${line}`);
                  attachGuest(
                    model,
                    candidate.name,
                    kernel,
                    runnable.map((plugin) => plugin.meta.id),
                  );
                  void domain.synced().then(() => say(`${candidate.name}: hooks planted`));
                  return liveFindings({
                    domain,
                    kernel,
                    plugins: runnable,
                    rules,
                    onEvent,
                    ...(sink ? { sink } : {}),
                    reboots: { notify: (line) => say(`${candidate.name}: ${line}`) },
                  });
                })()
              : (() => {
                  // A recorded trace: its events are already the detectors' (no memory, no kernel).
                  model.attach({ name: candidate.name, plugins: ['none (recorded events)'] });
                  return domain.events$.pipe(tap(onEvent), detect(rules), concatMap(delivered));
                })();
          process.stderr.write(`attached to ${candidate.name} (${candidate.mode})\n`);
          const subscription = findings.subscribe({
            next: (finding) => model.finding(finding, candidate.name),
            error: (error: Error) => say(`${candidate.name}: stopped: ${error.message}`),
            complete: () => say(`${candidate.name}: ${candidate.finite ? 'trace ended' : 'ended'}`),
          });
          guest.unsubscribe = () => subscription.unsubscribe();
        }
        screen = openTopScreen(
          model,
          `ringside top (${candidates.length} guest${candidates.length === 1 ? '' : 's'})`,
        );
        const shown = screen;
        await new Promise<void>((done) => {
          process.once('SIGINT', done);
          process.once('SIGTERM', done);
          void shown.quit.then(done);
        });
      } finally {
        for (const guest of attached) guest.unsubscribe();
        // The terminal back first: what follows is printed on it.
        await screen?.close();
        for (const guest of attached) await guest.close().catch(() => undefined);
        if (sink) {
          await sink.close();
          reportUndelivered(sink);
        }
      }
      process.stderr.write(`detached from ${attached.map((guest) => guest.name).join(', ')}\n`);
    });
}
