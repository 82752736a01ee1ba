import { syntheticFinding } from '../test-support/findings.js';
import { formatText } from './format.js';

describe('formatText', () => {
  it('says which response actions were done and which failed, with why', () => {
    const finding = {
      ...syntheticFinding(2),
      actions: [
        { name: 'restore' as const, ok: true },
        { name: 'snapshot' as const, ok: false, error: 'disk full' },
      ],
    };
    expect(formatText(finding).split('\n')).toContain(
      '    actions: restore done, snapshot FAILED (disk full)',
    );
  });

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

  it('escapes guest strings (process, module, message) so no control character reaches the terminal', () => {
    const finding = syntheticFinding(2);
    finding.message = 'hidden task \x1b[2J\x1b[31mPWNED';
    finding.events = [
      {
        type: 'module.load',
        domain: 'g',
        time: 1,
        process: { pid: 42, name: 'ev\x1b]0;owned\x07il', command_line: 'a\nFAKE LINE' },
        module: { name: 'rk\x1b[8m', base: 0xffffffffc0000000n, size: 4096 },
      },
    ];
    const text = formatText(finding);
    // eslint-disable-next-line no-control-regex
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
    const lines = text.split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toContain('hidden task \\x1b[2J\\x1b[31mPWNED');
    expect(lines).toContain('    process ev\\x1b]0;owned\\x07il (pid 42)');
    expect(lines).toContain('    command a\\x0aFAKE LINE');
    expect(lines[4]).toMatch(/^ {4}module rk\\x1b\[8m at 0xffffffffc0000000/);
  });
});
