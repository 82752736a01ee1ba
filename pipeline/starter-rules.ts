// The starter rules shipped with Ringside (samples/rules): where they are, from the TypeScript
// sources and from dist/, and loaded as one ruleset.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RingsideError } from '../introspect/errors.js';
import { loadRulePaths, type Ruleset } from '../rules/index.js';

export function starterRulesDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const repo = here.includes(join('dist', 'pipeline')) ? join(here, '..', '..') : join(here, '..');
  return join(repo, 'samples', 'rules');
}

/** Loads rule files or folders; any error is bad input naming the rules. */
export async function loadRules(paths: readonly string[] = [starterRulesDir()]): Promise<Ruleset> {
  const result = await loadRulePaths(paths);
  if (result.errorCount > 0)
    throw new RingsideError(
      'BAD_INPUT',
      `the rules do not load: ${result.diagnostics.map((d) => d.message).join('; ')} (check them with ringside rules lint)`,
    );
  return result.ruleset;
}
