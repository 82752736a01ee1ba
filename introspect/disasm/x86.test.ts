import { disassemble, disassembleX86 } from './x86.js';

describe('disassembleX86', () => {
  it('lists instructions with their kernel addresses', async () => {
    const code = Uint8Array.from([0x48, 0x89, 0xe5, 0xe9, 0x10, 0x00, 0x00, 0x00, 0xc3]);
    const text = await disassembleX86(code, 0xffffffff81000000n);
    expect(text.split('\n')).toEqual([
      '0xffffffff81000000: mov rbp, rsp',
      '0xffffffff81000003: jmp 0xffffffff81000018',
      '0xffffffff81000008: ret',
    ]);
  });

  it('stops at the instruction limit', async () => {
    const nops = new Uint8Array(32).fill(0x90);
    expect((await disassembleX86(nops, 0x1000n, { max: 3 })).split('\n')).toHaveLength(3);
  });

  it('marks bytes that do not decode instead of throwing', async () => {
    const text = await disassembleX86(Uint8Array.from([0x90, 0x0f]), 0x2000n);
    expect(text.split('\n')[0]).toBe('0x2000: nop');
    expect(text).toContain('(bad)');
  });

  it('gives nothing for no bytes', async () => {
    expect(await disassembleX86(new Uint8Array(0), 0n)).toBe('');
  });
});

describe('disassemble, AArch64', () => {
  it('lists an ARM64 guest’s instructions with their kernel addresses', async () => {
    // nop; ret; b +0x1000
    const code = Uint8Array.from([
      0x1f, 0x20, 0x03, 0xd5, 0xc0, 0x03, 0x5f, 0xd6, 0x00, 0x04, 0x00, 0x14,
    ]);
    const text = await disassemble('aarch64', code, 0xffff_d36b_628d_8040n);
    expect(text.split('\n')).toEqual([
      '0xffffd36b628d8040: nop',
      '0xffffd36b628d8044: ret',
      '0xffffd36b628d8048: b #0xffffd36b628d9048',
    ]);
  });

  it('marks words that are no AArch64 instruction instead of throwing', async () => {
    const text = await disassemble(
      'aarch64',
      Uint8Array.from([0x1f, 0x20, 0x03, 0xd5, 0xff, 0xff, 0xff, 0xff]),
      0x2000n,
    );
    expect(text.split('\n')[0]).toBe('0x2000: nop');
    expect(text).toContain('(bad)');
  });
});
