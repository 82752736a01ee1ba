import { disassembleX86 } from './x86.js';

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
