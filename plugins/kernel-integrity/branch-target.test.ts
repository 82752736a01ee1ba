// Where patched kernel code now jumps, read from the first line of its disassembly.
import { branchTarget } from './evidence.js';

describe('branchTarget', () => {
  it('reads x86-64 jmp/call and AArch64 b/bl targets from the first instruction', () => {
    expect(branchTarget('0xffffffff81e3c100: jmp 0xffffffffc0b00200\n0x…: nop')).toBe(
      0xffffffffc0b00200n,
    );
    expect(branchTarget('0xffffffff81e3c100: call 0xffffffffc0b00200')).toBe(0xffffffffc0b00200n);
    expect(branchTarget('0xffff800008010000: b #0xffff80000a000000')).toBe(0xffff80000a000000n);
    expect(branchTarget('0xffff800008010000: bl #0xffff80000a000000')).toBe(0xffff80000a000000n);
  });

  it('is undefined for code that does not start with a direct branch', () => {
    expect(
      branchTarget('0xffffffff81e3c100: push rbp\n0x…: jmp 0xffffffffc0b00200'),
    ).toBeUndefined();
    expect(branchTarget('0xffffffff81e3c100: jmp rax')).toBeUndefined();
    expect(branchTarget('')).toBeUndefined();
  });
});
