// Checks a plugin's declared needs against a guest before it starts (Volatility 3's
// construct_plugin): architecture, kernel symbols and, live, backend capabilities — so a plugin that
// cannot run is refused with one line naming what is missing, before any hook is planted.
import { RingsideError } from '../introspect/errors.js';
import type { Domain } from '../introspect/domain/types.js';
import type { LinuxKernel } from '../introspect/os/linux/linux-kernel.js';
import type { DetectorPlugin } from './types.js';

/** What keeps `plugin` from running on this guest (empty when nothing does). */
export function missingRequirements(
  plugin: DetectorPlugin,
  kernel: LinuxKernel,
  domain?: Domain,
): string[] {
  const problems: string[] = [];
  if (!plugin.meta.architectures.includes(kernel.arch.name))
    problems.push(`it supports ${plugin.meta.architectures.join(', ')}, not ${kernel.arch.name}`);
  for (const symbol of plugin.meta.symbols) {
    if (kernel.symbols.address(symbol) === undefined)
      problems.push(`kernel symbol ${symbol} is missing`);
  }
  if (domain) {
    for (const [capability, accepted] of Object.entries(plugin.meta.capabilities)) {
      const actual = domain.capabilities[capability as keyof typeof domain.capabilities];
      if (!(accepted as readonly unknown[]).includes(actual)) {
        problems.push(
          `capability ${capability} must be ${(accepted as readonly unknown[]).join(' or ')}, but ${domain.name} has ${String(actual)}`,
        );
      }
    }
  }
  return problems;
}

export interface Refusal {
  plugin: DetectorPlugin;
  problems: string[];
}

/** One line per refused plugin, e.g. for a warning or an error message. */
export const describeRefusal = ({ plugin, problems }: Refusal, guest: string): string =>
  `plugin ${plugin.meta.id} cannot run on ${guest}: ${problems.join('; ')}`;

/** Splits plugins into those that can run on this guest and those refused, with the reasons. */
export function partitionByRequirements(
  plugins: readonly DetectorPlugin[],
  kernel: LinuxKernel,
  domain?: Domain,
): { runnable: DetectorPlugin[]; refused: Refusal[] } {
  const runnable: DetectorPlugin[] = [];
  const refused: Refusal[] = [];
  for (const plugin of plugins) {
    const problems = missingRequirements(plugin, kernel, domain);
    if (problems.length === 0) runnable.push(plugin);
    else refused.push({ plugin, problems });
  }
  return { runnable, refused };
}

/** Throws one error naming every refused plugin and why; nothing has been started then. */
export function requireAll(
  plugins: readonly DetectorPlugin[],
  kernel: LinuxKernel,
  domain: Domain,
): void {
  const { refused } = partitionByRequirements(plugins, kernel, domain);
  if (refused.length > 0)
    throw new RingsideError(
      'CAPABILITY',
      refused.map((refusal) => describeRefusal(refusal, domain.name)).join('\n'),
    );
}
