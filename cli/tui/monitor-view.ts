// `ringside monitor --tui`: the live view of one attached guest, fed by the monitor's own event and
// finding streams; a guest's process tree starts from its task list at attach time (`top` too).
import { InputError } from '../../introspect/errors.js';
import type { VmiEvent } from '../../introspect/events/event.js';
import type { Finding } from '../../introspect/events/finding.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { listTasks } from '../../introspect/os/linux/tasks.js';
import { openTopScreen, type TopScreen } from './top-app.js';
import { TopModel } from './top-model.js';

export interface MonitorView {
  event(event: VmiEvent): void;
  finding(finding: Finding): void;
  /** A line the monitor would have printed to stderr, shown at the bottom of the view. */
  notice(line: string): void;
  readonly quit: Promise<void>;
  close(): Promise<void>;
}

/** A live guest in the view: its facts, and its process tree from the task list read now. */
export function attachGuest(
  model: TopModel,
  guest: string,
  kernel: LinuxKernel,
  plugins: readonly string[],
): void {
  // Read with the guest running: a walk may end early (then the tree starts smaller); exec events
  // fill it in either way.
  const { tasks, problem } = listTasks(kernel);
  model.attach(
    { name: guest, kernel: kernel.release, architecture: kernel.arch.label, plugins },
    tasks,
  );
  if (problem) model.notice(`${guest}: task list at attach: ${problem.message}`);
}

/** Refuses before anything is attached when there is no terminal to draw on. */
export function checkTerminal(command = 'monitor --tui'): void {
  if (!process.stdout.isTTY || !process.stdin.isTTY)
    throw new InputError('the live view needs a terminal on stdin and stdout', command);
}

export function openMonitorView(
  guest: string,
  kernel: LinuxKernel,
  plugins: readonly string[],
): MonitorView {
  const model = new TopModel();
  attachGuest(model, guest, kernel, plugins);
  const screen: TopScreen = openTopScreen(model, `ringside monitor ${guest}`);
  return {
    event: (event) => model.event(event, Date.now()),
    finding: (finding) => model.finding(finding),
    notice: (line) => model.notice(line),
    quit: screen.quit,
    close: () => screen.close(),
  };
}
