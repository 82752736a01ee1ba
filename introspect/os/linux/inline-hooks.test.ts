import { describe, expect, it } from '@jest/globals';
import { findInlineHooks, leadingBranch } from './inline-hooks.js';
import { FakeLinux } from './test-support/fake-linux.js';

const AT = 0xffffffff81000000n;
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const le32 = (value: number): number[] => [...new Uint8Array(Int32Array.of(value).buffer)];
const le64 = (value: bigint): number[] => [...new Uint8Array(BigUint64Array.of(value).buffer)];

describe('leadingBranch', () => {
  it('decodes jmp/call rel32, after an endbr64 too', () => {
    expect(leadingBranch(bytes(0xe9, ...le32(0x100)), AT)).toEqual({
      kind: 'jmp',
      offset: 0,
      target: AT + 0x105n,
    });
    expect(leadingBranch(bytes(0xf3, 0x0f, 0x1e, 0xfa, 0xe8, ...le32(-0x20)), AT)).toEqual({
      kind: 'call',
      offset: 4,
      target: AT + 4n + 5n - 0x20n,
    });
  });

  it('decodes movabs+jmp/call through a register, r8-r15 included, push+ret and jmp *0(%rip)', () => {
    const far = 0xffffffffc0a00000n;
    expect(leadingBranch(bytes(0x48, 0xb8, ...le64(far), 0xff, 0xe0), AT)).toMatchObject({
      kind: 'movabs-jmp',
      target: far,
    });
    expect(leadingBranch(bytes(0x49, 0xbb, ...le64(far), 0x41, 0xff, 0xd3), AT)).toMatchObject({
      kind: 'movabs-call',
      target: far,
    });
    expect(leadingBranch(bytes(0x68, ...le32(-0x3f600000), 0xc3), AT)).toMatchObject({
      kind: 'push-ret',
      target: 0xffffffffc0a00000n,
    });
    expect(leadingBranch(bytes(0xff, 0x25, 0, 0, 0, 0, ...le64(far)), AT)).toMatchObject({
      kind: 'jmp-rip',
      target: far,
    });
  });

  it('ignores ordinary prologues, a movabs into another register, and truncated code', () => {
    expect(leadingBranch(bytes(0x55, 0x48, 0x89, 0xe5), AT)).toBeUndefined();
    expect(leadingBranch(bytes(0x0f, 0x1f, 0x44, 0x00, 0x00), AT)).toBeUndefined();
    expect(leadingBranch(bytes(0x48, 0xb8, ...le64(1n), 0xff, 0xe1), AT)).toBeUndefined();
    expect(leadingBranch(bytes(0xe9, 0x00), AT)).toBeUndefined();
  });
});

describe('findInlineHooks', () => {
  function guest() {
    const linux = new FakeLinux();
    const functions = linux.kernelText(['_text_first', 'getppid', 'traced', 'local_jump', 'last']);
    const module = linux.module('rk', new Uint8Array(0x100).fill(0xc3));
    const base = linux.get64(module + 0x100n);
    return { linux, functions, base };
  }
  const jmp = (linux: FakeLinux, from: bigint, to: bigint, opcode = 0xe9): void =>
    linux.bytes.set(bytes(opcode, ...le32(Number(to - from - 5n))), Number(from));

  it('names the patched function and the module its jump leads into; jumps inside the text pass', () => {
    const { linux, functions, base } = guest();
    jmp(linux, functions.get('getppid')!, base + 0x40n);
    jmp(linux, functions.get('local_jump')!, functions.get('last')!);
    const scan = findInlineHooks(linux.kernel());
    expect(scan.functions).toBe(5);
    expect(scan.violations).toEqual([
      expect.objectContaining({
        target: 'inline_hook',
        symbol: 'getppid+0x0',
        address: functions.get('getppid'),
        new_value: base + 0x40n,
        location: { where: 'module', module: 'rk', symbol: '[rk]+0x40' },
      }),
    ]);
    expect(scan.violations[0]!.message).toBe(
      'getppid+0x0 is patched: a jmp out of the kernel text, to [rk]+0x40 in module rk',
    );
  });

  it("passes ftrace's call into a registered ftrace_ops' trampoline, but not a jmp there", () => {
    const { linux, functions } = guest();
    const trampoline = linux.put(new Uint8Array(0x100).fill(0xcc));
    const end = linux.alloc(0x80);
    const ops = linux.alloc(0x80);
    linux.set64(ops + 0x8n, end);
    linux.set64(ops + 0x40n, trampoline);
    linux.set64(ops + 0x48n, 0x100n);
    const list = linux.alloc(8);
    linux.set64(list, ops);
    linux.symbols.set('ftrace_ops_list', list);
    linux.symbols.set('ftrace_list_end', end);
    jmp(linux, functions.get('traced')!, trampoline + 0x10n, 0xe8);
    expect(findInlineHooks(linux.kernel()).violations).toEqual([]);
    jmp(linux, functions.get('traced')!, trampoline + 0x10n, 0xe9);
    expect(findInlineHooks(linux.kernel()).violations.map((v) => v.symbol)).toEqual(['traced+0x0']);
    // A call just past the trampoline is not ftrace's.
    jmp(linux, functions.get('traced')!, trampoline + 0x100n, 0xe8);
    expect(findInlineHooks(linux.kernel()).violations.map((v) => v.symbol)).toEqual(['traced+0x0']);
  });

  it('reports nothing on unpatched text and skips what cannot be read', () => {
    const { linux } = guest();
    expect(findInlineHooks(linux.kernel()).violations).toEqual([]);
    // An _etext far out (memory is attacker-controlled): the read is bounded, the rest unreadable.
    linux.symbols.set('_etext', linux.symbols.get('_stext')! + 0x10_0000_0000n);
    const scan = findInlineHooks(linux.kernel());
    expect(scan.unreadable).toBeGreaterThan(0);
    expect(scan.violations).toEqual([]);
  });
});
