import { identitySpace } from '../../memory/test-support/identity-space.js';
import {
  CR0_WP,
  CR4_SMEP,
  checkIntegrity,
  decodeGate,
  readIdt,
  takeBaseline,
  MSR_LSTAR,
} from './integrity.js';
import { KernelReader } from './kernel-reader.js';
import type { LinuxKernel } from './linux-kernel.js';
import { SortedSymbolTable } from './profile/symbol-table.js';
import type { TypeTable } from './profile/types.js';

// A small kernel laid out at low addresses (identity-mapped): text, a 4-entry syscall table, an IDT.
const TEXT = 0x1000n;
const TEXT_END = 0x9000n;
const TABLE = 0xa000n;
const NEXT = TABLE + 4n * 8n;
const IDT = 0xb000n;
const EARLY = 0xd000n;
const ENTRY = 0x2000n;

function gate(handler: bigint, present = true): Uint8Array {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, Number(handler & 0xffffn), true);
  view.setUint16(2, 0x10, true);
  view.setUint8(5, (present ? 0x80 : 0) | 0x0e);
  view.setUint16(6, Number((handler >> 16n) & 0xffffn), true);
  view.setUint32(8, Number(handler >> 32n), true);
  return bytes;
}

function fakeKernel(): { kernel: LinuxKernel; bytes: Uint8Array } {
  const bytes = new Uint8Array(0x10000);
  const view = new DataView(bytes.buffer);
  [0x3000n, 0x3100n, 0x3200n, 0x3300n].forEach((target, index) =>
    view.setBigUint64(Number(TABLE) + index * 8, target, true),
  );
  for (let vector = 0; vector < 256; vector++) {
    bytes.set(gate(0x4000n + BigInt(vector) * 16n), Number(IDT) + vector * 16);
  }
  const symbols = new SortedSymbolTable(
    [
      ['_stext', TEXT, 'T'],
      ['entry_SYSCALL_64', ENTRY, 'T'],
      ['sys_read', 0x3000n, 'T'],
      ['sys_write', 0x3100n, 'T'],
      ['sys_open', 0x3200n, 'T'],
      ['sys_close', 0x3300n, 'T'],
      ['asm_common_interrupt', 0x4000n, 'T'],
      ['_etext', TEXT_END, 'T'],
      ['sys_call_table', TABLE, 'R'],
      ['after_table', NEXT, 'R'],
      ['idt_table', IDT, 'D'],
      ['early_idt_handler_array', EARLY, 't'],
    ].map(([name, address, type]) => ({
      name: name as string,
      address: address as bigint,
      type: type as string,
    })),
  );
  const kernel = {
    symbols,
    reader: new KernelReader(identitySpace(bytes), {} as TypeTable),
  } as unknown as LinuxKernel;
  return { kernel, bytes };
}

describe('decodeGate', () => {
  it('reassembles the handler split across the descriptor and reads the attributes', () => {
    const bytes = gate(0xffffffff81a01234n);
    bytes[4] = 3;
    expect(decodeGate(14, bytes)).toEqual({
      vector: 14,
      handler: 0xffffffff81a01234n,
      selector: 0x10,
      type: 0xe,
      dpl: 0,
      ist: 3,
      present: true,
    });
  });
});

describe('checkIntegrity', () => {
  it('finds nothing wrong in a clean kernel', () => {
    const { kernel } = fakeKernel();
    expect(readIdt(kernel)).toHaveLength(256);
    expect(checkIntegrity(kernel, [{ vcpu: 0, cr0: CR0_WP | 1n, cr4: 0n }])).toEqual([]);
  });

  it('accepts exception vectors left on their early-boot stubs', () => {
    const { kernel, bytes } = fakeKernel();
    bytes.set(gate(EARLY + 18n * 9n), Number(IDT) + 18 * 16);
    expect(checkIntegrity(kernel)).toEqual([]);
  });

  it('takes the early stubs’ extent from the kernel’s symbols: 13-byte stubs (IBT) up to vector 31', () => {
    const { kernel, bytes } = fakeKernel();
    const symbols = new SortedSymbolTable([
      ...kernel.symbols.all(),
      { name: 'early_idt_handler_common', address: EARLY + 32n * 13n, type: 't' },
    ]);
    const ibt = { ...kernel, symbols } as LinuxKernel;
    for (let vector = 23; vector < 32; vector++)
      bytes.set(gate(EARLY + BigInt(vector) * 13n), Number(IDT) + vector * 16);
    expect(checkIntegrity(ibt)).toEqual([]);
    // The first byte past the array is not a stub.
    bytes.set(gate(EARLY + 32n * 13n), Number(IDT) + 40 * 16);
    expect(checkIntegrity(ibt).map((violation) => violation.symbol)).toEqual([
      `idt_table+0x${(40 * 16).toString(16)}`,
    ]);
  });

  it('reports a syscall entry pointing outside the kernel text, with the entry symbol', () => {
    const { kernel, bytes } = fakeKernel();
    new DataView(bytes.buffer).setBigUint64(Number(TABLE) + 8, 0xe000n, true);
    const [violation, ...rest] = checkIntegrity(kernel);
    expect(rest).toEqual([]);
    expect(violation).toMatchObject({
      target: 'syscall_table',
      symbol: 'sys_call_table+0x8',
      address: TABLE + 8n,
      new_value: 0xe000n,
      location: { where: 'elsewhere' },
    });
  });

  it('reports a change against the baseline even when the new target is kernel text', () => {
    const { kernel, bytes } = fakeKernel();
    const baseline = takeBaseline(kernel);
    new DataView(bytes.buffer).setBigUint64(Number(TABLE), 0x3300n, true);
    expect(checkIntegrity(kernel, [], baseline)).toEqual([
      expect.objectContaining({
        target: 'syscall_table',
        symbol: 'sys_call_table+0x0',
        old_value: 0x3000n,
        new_value: 0x3300n,
        location: { where: 'kernel-text', symbol: 'sys_close+0x0' },
      }),
    ]);
  });

  it('reports a re-pointed IDT gate', () => {
    const { kernel, bytes } = fakeKernel();
    bytes.set(gate(0xffffffffc0001000n), Number(IDT) + 0x80 * 16);
    expect(checkIntegrity(kernel)).toEqual([
      expect.objectContaining({
        target: 'idt',
        symbol: 'idt_table+0x800',
        new_value: 0xffffffffc0001000n,
      }),
    ]);
  });

  it('reports CR0.WP clear, SMEP turned off since the baseline, and a foreign LSTAR', () => {
    const { kernel } = fakeKernel();
    const baseline = takeBaseline(kernel, [{ vcpu: 1, cr0: CR0_WP, cr4: CR4_SMEP }]);
    const found = checkIntegrity(
      kernel,
      [{ vcpu: 1, cr0: 1n, cr4: 0n, lstar: 0xe000n }],
      baseline,
    ).map((violation) => [violation.target, violation.vcpu]);
    expect(found).toEqual([
      ['cr0.wp', 1],
      ['cr4.smep', 1],
      ['lstar', 1],
    ]);
    expect(MSR_LSTAR).toBe(0xc0000082n);
  });

  it('reads a table that is not in memory as an error, not as a clean result', () => {
    const { kernel } = fakeKernel();
    const symbols = kernel.symbols as SortedSymbolTable;
    const broken = {
      ...kernel,
      symbols: {
        address: (name: string) => (name === 'idt_table' ? 0xfff000n : symbols.address(name)),
        nearest: (address: bigint) => symbols.nearest(address),
        all: () => symbols.all(),
        size: symbols.size,
      },
    } as unknown as LinuxKernel;
    expect(() => checkIntegrity(broken)).toThrow();
  });
});

describe('VBAR_EL1 (ARM64 exception vectors)', () => {
  const VECTORS = 0x5000n;
  const HARDENED = 0x6000n;
  const TRAMPOLINE = 0x7000n;
  const ALIAS = 0xffff_7dff_bfff_0000n; // the trampoline's fixmap alias
  const kernelWith = () => {
    const bytes = new Uint8Array(0x10000);
    const identity = identitySpace(bytes);
    const space = {
      ...identity,
      translate: (address: bigint) =>
        address >= ALIAS && address < ALIAS + 0x1000n
          ? identity.translate(TRAMPOLINE + (address - ALIAS))
          : identity.translate(address),
    };
    const symbols = new SortedSymbolTable([
      { name: '_stext', address: TEXT, type: 'T' },
      { name: 'vectors', address: VECTORS, type: 'T' },
      { name: '__bp_harden_el1_vectors', address: HARDENED, type: 'T' },
      { name: 'tramp_vectors', address: TRAMPOLINE, type: 'T' },
      { name: '_etext', address: TEXT_END, type: 'T' },
    ]);
    return {
      symbols,
      reader: new KernelReader(space, {} as TypeTable),
    } as unknown as LinuxKernel;
  };

  it.each([
    ['vectors', VECTORS],
    ['a Spectre-BHB slot', HARDENED + 0x1000n],
    ['the KPTI trampoline through its alias', ALIAS + 0x800n],
  ])('accepts %s', (_what, vbar) => {
    expect(checkIntegrity(kernelWith(), [{ vcpu: 0, vbar }])).toEqual([]);
  });

  it('flags a vector base anywhere else, naming where it points', () => {
    const [violation, ...rest] = checkIntegrity(kernelWith(), [
      { vcpu: 1, vbar: VECTORS + 0x100n },
    ]);
    expect(rest).toEqual([]);
    expect(violation).toMatchObject({
      target: 'vbar_el1',
      vcpu: 1,
      new_value: VECTORS + 0x100n,
      location: { where: 'kernel-text', symbol: 'vectors+0x100' },
    });
    expect(violation!.message).toMatch(/VBAR_EL1 on vCPU 1 points to 0x5100/);
  });
});
