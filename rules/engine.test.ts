// The engine's indexes: rules whose condition is "any of these" (as Sigma imports write them) are
// filed under every operand's anchor, found through any of them, and never tested on other events.
import type { VmiEvent } from '../introspect/events/event.js';
import type { Matcher } from './engine.js';
import { RuleEngine } from './engine.js';
import { loadRuleFiles } from './load.js';

const rules = `
- rule: shell from java
  severity: high
  condition: 'type = process.exec and (process.executable endswith ("/sh", "/bash") or process.command_line icontains "/etc/resolv.conf")'
- rule: nested any
  severity: low
  condition: 'type = process.exec and (process.name = curl and process.command_line contains " -o " or process.parent.name in (nginx, httpd) or process.executable startswith /tmp/)'
- rule: not indexable
  severity: low
  condition: 'type = process.exec and (process.name = x or not process.parent.name = y)'
`;

function engine(): RuleEngine {
  const result = loadRuleFiles([{ file: 'any.yaml', text: rules }]);
  expect(result.errorCount).toBe(0);
  return new RuleEngine(result.ruleset);
}

function fired(rulesEngine: RuleEngine, process: Record<string, unknown>): string[] {
  const hits: Matcher[] = [];
  const event = { type: 'process.exec', domain: 'g', time: 0, process } as VmiEvent;
  rulesEngine.match(event, hits);
  return hits.map((hit) => hit.rule.name);
}

describe('RuleEngine any-of-these index', () => {
  it('puts disjunctions whose every operand has an anchor behind the index', () => {
    expect(engine().stats).toMatchObject({ matchers: 3, indexed: 2 });
  });

  it('finds a rule through each operand, once, and tests the whole condition again', () => {
    const e = engine();
    expect(fired(e, { executable: '/bin/bash', parent: { name: 'y' } })).toEqual([
      'shell from java',
    ]);
    expect(
      fired(e, { executable: '/tmp/bash', command_line: 'cat /ETC/resolv.conf', name: 'x' }),
    ).toEqual(['shell from java', 'nested any', 'not indexable']);
    expect(fired(e, { name: 'curl', command_line: 'curl -o f', parent: { name: 'y' } })).toEqual([
      'nested any',
    ]);
    // curl without " -o " reaches the rule through process.name, which then fails as a whole.
    expect(fired(e, { name: 'curl', command_line: 'curl', parent: { name: 'y' } })).toEqual([]);
    expect(fired(e, { name: 'z', parent: { name: 'httpd' } })).toEqual([
      'nested any',
      'not indexable',
    ]);
  });
});
