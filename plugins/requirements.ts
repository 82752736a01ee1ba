// Checks a plugin's declared needs against a domain and kernel before it starts, so a missing
// capability or symbol is one clear message naming both, not a failure halfway through.
import { RingsideError } from '../introspect/errors.js';
import type { DetectorPlugin, PluginContext } from './types.js';

export function checkRequirements(plugin: DetectorPlugin, context: PluginContext): void {
  const problems: string[] = [];
  for (const [capability, accepted] of Object.entries(plugin.meta.capabilities)) {
    const actual =
      context.domain.capabilities[capability as keyof typeof context.domain.capabilities];
    if (!(accepted as readonly unknown[]).includes(actual)) {
      problems.push(
        `capability ${capability} must be ${(accepted as readonly unknown[]).join(' or ')}, but ${context.domain.name} has ${String(actual)}`,
      );
    }
  }
  for (const symbol of plugin.meta.symbols) {
    if (context.kernel.symbols.address(symbol) === undefined)
      problems.push(`kernel symbol ${symbol} is missing`);
  }
  if (problems.length > 0) {
    throw new RingsideError(
      'CAPABILITY',
      `plugin ${plugin.meta.id} cannot run on ${context.domain.name}: ${problems.join('; ')}`,
    );
  }
}
