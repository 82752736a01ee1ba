import { parseInfoRegisters } from './monitor-registers.js';

// Captured from QEMU 10 (`info registers -a`, sample guest under TCG), cut to what is parsed.
const LONG_MODE = `
CPU#0
RAX=000000000001ad40 RBX=0000000000000000 RCX=0000000000000000 RDX=4000000000000000
RSI=ffff8a9f4f623440 RDI=000000000004697c RBP=ffffffffa081aa40 RSP=ffffffffa0803e98
R8 =ffffffffffc73792 R9 =000000003457e153 R10=00000000fffffffb R11=0000000000000000
R12=0000000000000000 R13=0000000000000000 R14=0000000000000000 R15=0000000000014790
RIP=ffffffff9f817a0b RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1
ES =0000 0000000000000000 00000000 00000000
CS =0010 0000000000000000 ffffffff 00af9b00 DPL=0 CS64 [-RA]
FS =0000 0000000000000000 00000000 00000000
GS =0000 ffff8a9f4f600000 00000000 00000000
GDT=     fffffe0000001000 0000007f
CR0=80050033 CR2=0000000020aa5730 CR3=0000000002950000 CR4=000006b0
DR0=0000000000000000 DR1=0000000000000000 DR2=0000000000000000 DR3=0000000000000000 
DR6=00000000ffff0ff0 DR7=0000000000000400
EFER=0000000000000d01
FCW=037f FSW=0000 [ST=0] FTW=00 MXCSR=00001f80
XMM00=ffffffff00000000 ffffff0000000000 XMM01=0101010100000000 0101010000000000

CPU#1
RIP=ffffffff9f817a0b RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1
GS =0000 ffff8a9f4f700000 00000000 00000000
CR0=80050033 CR2=00000000005794a9 CR3=00000000029e2000 CR4=000006a0
EFER=0000000000000d01
`;

// The firmware, right after a reset: real mode, 32-bit names.
const REAL_MODE = `
EAX=00000000 EBX=00000000 ECX=0000b7d2 EDX=00000000
EIP=0000b7ee EFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1
FS =0000 00000000 0000ffff 00009300
CR0=00000010 CR2=00000000 CR3=00000000 CR4=00000000
EFER=0000000000000000
`;

describe('parseInfoRegisters', () => {
  it('reads every vCPU of `info registers -a` in long mode', () => {
    const vcpus = parseInfoRegisters(LONG_MODE);
    expect(vcpus.map((vcpu) => vcpu.index)).toEqual([0, 1]);
    expect(vcpus[0]!.registers).toMatchObject({
      rax: 0x1ad40n,
      r8: 0xffffffffffc73792n,
      r15: 0x14790n,
      rip: 0xffffffff9f817a0bn,
      rflags: 0x246n,
      cpl: 0n,
      cr0: 0x80050033n,
      cr3: 0x2950000n,
      cr4: 0x6b0n,
      efer: 0xd01n,
      gs_base: 0xffff8a9f4f600000n,
      fs_base: 0n,
      dr7: 0x400n,
    });
    expect(vcpus[1]!.registers).toMatchObject({ cr3: 0x29e2000n, gs_base: 0xffff8a9f4f700000n });
    // Neither XMM/FPU registers nor segment selectors become registers.
    expect(Object.keys(vcpus[0]!.registers)).not.toContain('es');
    expect(Object.keys(vcpus[0]!.registers).some((name) => name.startsWith('xmm'))).toBe(false);
  });

  it('takes a block without a CPU# header as vCPU 0 and widens 32-bit names', () => {
    const [vcpu, ...rest] = parseInfoRegisters(REAL_MODE);
    expect(rest).toEqual([]);
    expect(vcpu).toEqual({
      index: 0,
      registers: expect.objectContaining({ rip: 0xb7een, rcx: 0xb7d2n, cr0: 0x10n, cr3: 0n }),
    });
  });

  it('an answer with no register (another architecture, an error text) is an error', () => {
    expect(() => parseInfoRegisters('unknown command: info regs')).toThrow(
      /no x86 register in QEMU's answer \(unknown command/,
    );
    expect(() => parseInfoRegisters('')).toThrow(/empty/);
  });

  it('hostile text stays linear: a huge line of near-matches parses quickly', () => {
    const line = `${'RAX=0123456789abcdef0 '.repeat(50_000)}\nCR3=1000`;
    expect(parseInfoRegisters(line)[0]!.registers.cr3).toBe(0x1000n);
  });
});
