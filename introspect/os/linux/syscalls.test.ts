// The system call table with one of its pages unmapped: the entries on the readable page are still
// resolved, the others named in a problem (a partial answer), never a failure of the whole table.
import { MemoryError } from '../../errors.js';
import { identitySpace } from '../../memory/test-support/identity-space.js';
import { KernelReader } from './kernel-reader.js';
import type { LinuxKernel } from './linux-kernel.js';
import { readSyscallTable, readSyscallTableEntries } from './syscalls.js';
import { fakeTypes } from './test-support/fake-types.js';

const TEXT = 0x1000n;
const ETEXT = 0x2000n;
/** 600 entries starting 1 KiB before the end of the buffer: the last 472 lie past it (unmapped). */
function kernelWithTableCutByAHole(): LinuxKernel {
  const bytes = new Uint8Array(0x4000);
  const table = 0x4000n - 1024n;
  const view = new DataView(bytes.buffer);
  for (let index = 0; index < 128; index++)
    view.setBigUint64(Number(table) + index * 8, TEXT + BigInt(index) * 16n, true);
  const symbols = new Map<string, bigint>([
    ['_text', TEXT],
    ['_stext', TEXT],
    ['_etext', ETEXT],
    ['sys_call_table', table],
  ]);
  return {
    reader: new KernelReader(identitySpace(bytes), fakeTypes({})),
    symbols: {
      address: (name: string) => symbols.get(name),
      nearest: (address: bigint) =>
        address === table
          ? { symbol: { name: 'sys_call_table', address }, offset: 0n }
          : address >= TEXT && address < ETEXT
            ? { symbol: { name: `sys_${(address - TEXT) / 16n}`, address }, offset: 0n }
            : undefined,
      next: (address: bigint) => (address === table ? { address: table + 600n * 8n } : undefined),
      all: () => [],
    },
  } as unknown as LinuxKernel;
}

describe('readSyscallTableEntries', () => {
  it('resolves the readable entries and names the unreadable ones', () => {
    const { entries, problem } = readSyscallTableEntries(kernelWithTableCutByAHole());
    expect(entries).toHaveLength(128);
    expect(entries[5]).toMatchObject({ index: 5, symbol: 'sys_5', suspicious: false });
    expect(problem?.message).toMatch(/^sys_call_table entries 128–599 \(472 of 600\) unreadable: /);
  });

  it('readSyscallTable (the integrity check) still refuses a partial table', () => {
    expect(() => readSyscallTable(kernelWithTableCutByAHole())).toThrow(MemoryError);
  });
});
