import { formatDiagnostic } from './diagnostics.js';
import { loadRuleFiles } from './load.js';

const load = (text: string) => loadRuleFiles([{ file: 'r.yaml', text }]);

describe('response actions in rules', () => {
  it('are off unless a rule names them, and kept once each in the order written', () => {
    const result = load(`
- rule: Plain
  condition: type = kernel.write
  output: w
  priority: high
- rule: Act
  condition: type = kernel.write
  output: w
  priority: high
  actions: [restore, snapshot, restore, pause]
`);
    expect(result.diagnostics).toEqual([]);
    expect(result.ruleset.rules.map((rule) => rule.actions)).toEqual([
      [],
      ['restore', 'snapshot', 'pause'],
    ]);
  });

  it('refuse an unknown action with its position, and the rule is not loaded', () => {
    const result = load(`
- rule: Act
  condition: type = kernel.write
  output: w
  priority: high
  actions: [restore, kill]
`);
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      "r.yaml:6:22: error BAD_VALUE: 'kill' is not a response action (snapshot, pause, restore)",
    ]);
    expect(result.ruleset.rules).toEqual([]);
  });
});
