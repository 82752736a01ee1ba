import { describe, expect, it } from '@jest/globals';
import type { Finding } from '../introspect/events/finding.js';
import { changed, diffJson, diffSnapshots, type SnapshotState } from './snapshot-diff.js';
import { renderDiff } from './commands/diff.js';

const finding = (rule: string, message: string): Finding =>
  ({ rule: { id: rule, name: rule }, severity: 'high', message }) as unknown as Finding;

const process = (pid: number, name: string, startTime: bigint, uid = 1000) => ({
  pid,
  ppid: 1,
  name,
  startTime,
  uid,
  euid: uid,
  gid: uid,
  egid: uid,
  kernelThread: false,
});

const before: SnapshotState = {
  release: '6.12.95+deb12-cloud-amd64',
  slide: 0x1e000000n,
  modules: [{ name: 'loop', base: 0xffffffffc0000000n, size: 0x8000 }],
  processes: [process(1, 'init', 1n, 0), process(116, 'sleep', 50n), process(120, 'sh', 60n)],
  integrity: new Map([
    ['sys_call_table[217]', 0xffffffff81400000n],
    ['idt[221]', 0xffffffff81e00000n],
  ]),
  findings: [finding('lnx-hidden-process', 'hidden process x')],
  problems: [],
};

describe('diffSnapshots', () => {
  it('is empty between a snapshot and itself', () => {
    const diff = diffSnapshots(before, before);
    expect(changed(diff)).toBe(false);
    expect(renderDiff(diff)).toBe('');
  });

  it('names modules, processes (pid and start time), credentials, integrity and findings that changed', () => {
    const after: SnapshotState = {
      ...before,
      modules: [
        ...before.modules,
        { name: 'ringside_test', base: 0xffffffffc0400000n, size: 0x5000 },
      ],
      // pid 116 was reused by a new process; sh became root; init is unchanged.
      processes: [
        process(1, 'init', 1n, 0),
        process(116, 'kworker/0:2H', 90n),
        process(120, 'sh', 60n, 0),
      ],
      integrity: new Map([
        ['sys_call_table[217]', 0xffffffffc0400100n],
        ['idt[221]', 0xffffffff81e00000n],
        ['inline_hook __x64_sys_getppid+0x0', 0xffffffffc04000c0n],
      ]),
      findings: [finding('lnx-code-injection', 'sleep has rwx')],
    };
    const diff = diffSnapshots(before, after, (value) =>
      value >= 0xffffffffc0400000n
        ? `[ringside_test]+0x${(value - 0xffffffffc0400000n).toString(16)}`
        : undefined,
    );
    expect(diff.modules).toEqual({ added: [after.modules[1]], removed: [] });
    expect(diff.processes.started.map((p) => [p.pid, p.name])).toEqual([[116, 'kworker/0:2H']]);
    expect(diff.processes.ended.map((p) => [p.pid, p.name])).toEqual([[116, 'sleep']]);
    expect(diff.credentials).toEqual([
      {
        pid: 120,
        name: 'sh',
        before: { uid: 1000, euid: 1000, gid: 1000, egid: 1000 },
        after: { uid: 0, euid: 0, gid: 0, egid: 0 },
      },
    ]);
    expect(diff.integrity).toEqual([
      {
        entry: 'sys_call_table[217]',
        before: 0xffffffff81400000n,
        after: 0xffffffffc0400100n,
        location: '[ringside_test]+0x100',
      },
      {
        entry: 'inline_hook __x64_sys_getppid+0x0',
        after: 0xffffffffc04000c0n,
        location: '[ringside_test]+0xc0',
      },
    ]);
    expect(diff.findings.new.map((f) => f.rule.id)).toEqual(['lnx-code-injection']);
    expect(diff.findings.gone.map((f) => f.rule.id)).toEqual(['lnx-hidden-process']);
    const json = diffJson(diff);
    expect(json).toMatchObject({
      changed: true,
      integrity: [
        { entry: 'sys_call_table[217]', before: '0xffffffff81400000', after: '0xffffffffc0400100' },
        { entry: 'inline_hook __x64_sys_getppid+0x0', before: null },
      ],
      findings: {
        new: [{ rule: 'lnx-code-injection', severity: 'high', message: 'sleep has rwx' }],
      },
    });
    const table = renderDiff(diff);
    expect(table).toContain('MODULES');
    expect(table).toMatch(/^\+\s+ringside_test\s+0xffffffffc0400000\s+20480$/m);
    expect(table).toMatch(
      /^\s*120\s+sh\s+uid 1000 euid 1000 gid 1000 egid 1000\s+uid 0 euid 0 gid 0 egid 0$/m,
    );
    expect(table).toMatch(
      /^inline_hook __x64_sys_getppid\+0x0\s+-\s+0xffffffffc04000c0\s+\[ringside_test\]\+0xc0$/m,
    );
  });
});
