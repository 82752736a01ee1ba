// Unit tests: the RAM layout from QEMU's monitor text (as QEMU 10 prints it), the machine types'
// known layouts, and the /proc maps choice of a RAM mapping.
import { knownLayout, layoutFromMonitor, parseRamblocks } from './ram-layout.js';
import { parseMaps, ramMappingOfSize } from './proc-maps.js';

const RAMBLOCK = `              Block Name    PSize              Offset               Used              Total                HVA  RO
                  pc.ram    4 KiB  0x0000000000000000 0x0000000180000000 0x0000000180000000 0x00007f0000000000  rw
                 pc.bios    4 KiB  0x0000000180000000 0x0000000000040000 0x0000000000040000 0x00007f9338200000  ro
`;

const MTREE = `FlatView #0
 AS "cpu-smm-0", root: memory
 Root memory region: memory
  0000000000000000-00000000000fffff (prio 0, ram): smram-only
FlatView #1
 AS "memory", root: system
 AS "cpu-memory-0", root: system
 Root memory region: system
  0000000000000000-00000000000c2fff (prio 0, ram): pc.ram
  00000000000c3000-00000000000e3fff (prio 0, rom): pc.ram @00000000000c3000
  00000000000e4000-000000007fffffff (prio 0, ram): pc.ram @00000000000e4000
  00000000b0000000-00000000bfffffff (prio 0, i/o): pcie-mmcfg-mmio
  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios
  0000000100000000-000000017fffffff (prio 0, ram): pc.ram @0000000080000000 KVM

FlatView #2
 AS "I/O", root: io
  0000000000000000-0000000000000007 (prio 0, i/o): dma-chan
`;

describe('the RAM layout from the monitor', () => {
  it('maps RAM below and above 4 GiB to the block’s host address, ROM too, I/O never', () => {
    expect(layoutFromMonitor(RAMBLOCK, MTREE)).toEqual([
      { start: 0n, end: 0x8000_0000n, host: 0x7f00_0000_0000n, block: 'pc.ram' },
      { start: 0xfffc_0000n, end: 0x1_0000_0000n, host: 0x7f93_3820_0000n, block: 'pc.bios' },
      {
        start: 0x1_0000_0000n,
        end: 0x1_8000_0000n,
        host: 0x7f00_0000_0000n + 0x8000_0000n,
        block: 'pc.ram',
      },
    ]);
  });

  it('refuses a ramblock table without host addresses, and a flat view without RAM', () => {
    expect(() => parseRamblocks('Block Name PSize Offset Used Total\n')).toThrow(/no HVA column/);
    expect(() => layoutFromMonitor(RAMBLOCK, 'FlatView #0\n AS "memory"\n')).toThrow(/no RAM/);
  });

  it('skips a range that claims more than its block holds (hostile or inconsistent text)', () => {
    const bad = MTREE.replace('@0000000080000000', '@0000000170000000');
    expect(layoutFromMonitor(RAMBLOCK, bad).some((m) => m.start === 0x1_0000_0000n)).toBe(false);
  });
});

describe('known layouts without QMP', () => {
  it('q35 keeps 2 GiB low above 2.75 GiB of RAM; i440fx 3 GiB above 3.5 GiB; ARM virt one block', () => {
    const gib = 1n << 30n;
    expect(knownLayout('q35', 4n * gib, 0x1000n).map((m) => [m.start, m.end, m.host])).toEqual([
      [0n, 2n * gib, 0x1000n],
      [4n * gib, 6n * gib, 0x1000n + 2n * gib],
    ]);
    expect(knownLayout('pc-i440fx-9.0', 4n * gib, 0n).map((m) => m.end)).toEqual([
      3n * gib,
      5n * gib,
    ]);
    expect(knownLayout('q35', 256n << 20n, 0n)).toHaveLength(1);
    expect(knownLayout('virt', gib, 0n)[0]).toMatchObject({
      start: 0x4000_0000n,
      end: 0x8000_0000n,
    });
    expect(() => knownLayout('microvm', gib, 0n)).toThrow(/give --qmp/);
  });

  it('takes the one read-write mapping of the RAM size, never a guess among several', () => {
    const maps = parseMaps(
      [
        '7f92dbe00000-7f92ebe00000 rw-p 00000000 00:00 0 ',
        '7f9338200000-7f9338240000 rw-p 00000000 00:00 0 ',
        '7f0000000000-7f0010000000 r--p 00000000 08:01 12 /usr/lib/libbig.so.1',
      ].join('\n'),
    );
    expect(ramMappingOfSize(maps, 256n << 20n)?.start).toBe(0x7f92_dbe0_0000n);
    expect(ramMappingOfSize([...maps, ...maps], 256n << 20n)).toBeUndefined();
  });
});
