// Helpers for the rule tests: load rules from inline YAML and build events tersely.
import type { VmiEvent } from '../../introspect/events/event.js';
import { formatDiagnostic } from '../diagnostics.js';
import type { Ruleset } from '../load.js';
import { loadRuleFiles } from '../load.js';

export function rulesFrom(text: string): Ruleset {
  const result = loadRuleFiles([{ file: 'test.yaml', text }]);
  if (result.errorCount > 0) throw new Error(result.diagnostics.map(formatDiagnostic).join('\n'));
  return result.ruleset;
}

export function exec(
  time: number,
  name: string,
  extra: Partial<VmiEvent<'process.exec'>> = {},
): VmiEvent {
  return {
    type: 'process.exec',
    domain: 'guest',
    time,
    timestamp: new Date(Date.UTC(2026, 0, 1) + time).toISOString(),
    process: { pid: 100, name, executable: `/usr/bin/${name}` },
    ...extra,
  };
}
