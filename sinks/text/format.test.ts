import { syntheticFinding } from '../test-support/findings.js';
import { formatText } from './format.js';

describe('formatText', () => {
  it('puts severity, rule and message on the first line and evidence below', () => {
    const finding = syntheticFinding(1);
    finding.events = [
      {
        type: 'kernel.write',
        domain: 'g',
        time: 1,
        process: { pid: 42, name: 'insmod', parent: { pid: 7, name: 'sh' } },
        vmi: {
          symbol: 'sys_call_table+0x0',
          rip: 0xffffffffc0001000n,
          old_value: 0xffffffff81000000n,
          new_value: 0xffffffffc0002000n,
          disassembly: '0xffffffffc0002000: push rbp\n0xffffffffc0002001: ret',
        },
      },
    ];
    const lines = formatText(finding).split('\n');
    expect(lines[0]).toContain(finding.rule.id);
    expect(lines[0]).toContain(finding.severity.toUpperCase());
    expect(lines[0]).toContain(finding.message);
    expect(lines).toContain('    process insmod (pid 42, parent sh (7))');
    expect(lines).toContain('    old 0xffffffff81000000 → new 0xffffffffc0002000');
    expect(lines).toContain('      0xffffffffc0002000: push rbp');
  });
});
