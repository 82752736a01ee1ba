import fc from 'fast-check';
import { identitySpace } from '../../../memory/test-support/identity-space.js';
import { parseBtf } from '../btf/index.js';
import { BtfBuilder } from '../btf/test-support/btf-builder.js';
import { KernelReader } from '../kernel-reader.js';
import { SortedSymbolTable } from '../profile/symbol-table.js';
import {
  findBannerInImage,
  findBtfInImage,
  findInitTask,
  findModuleList,
  findSyscallTableInImage,
} from './data-symbols.js';

const TEXT = 0xffff_d36b_8a81_0000n;

function types() {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const char = b.int('char', 1, { signed: true, char: true });
  const listHeadId = b.nextId + 1;
  const listPointer = b.pointer(listHeadId);
  const listHead = b.struct('list_head', 16, [
    { name: 'next', type: listPointer, bitOffset: 0 },
    { name: 'prev', type: listPointer, bitOffset: 64 },
  ]);
  b.struct('task_struct', 64, [
    { name: 'tasks', type: listHead, bitOffset: 0 },
    { name: 'pid', type: int, bitOffset: 128 },
    { name: 'comm', type: b.array(char, 16, int), bitOffset: 192 },
  ]);
  b.struct('module', 128, [
    { name: 'state', type: int, bitOffset: 0 },
    { name: 'list', type: listHead, bitOffset: 64 },
    { name: 'name', type: b.array(char, 56, int), bitOffset: 192 },
  ]);
  return b.build();
}

describe('findBtfInImage', () => {
  it('finds the first well-formed BTF blob at least the minimum size, and its end', () => {
    const btf = types();
    const image = new Uint8Array(0x4000);
    image.set([0x9f, 0xeb, 1, 0, 0xff, 0xff, 0xff, 0xff], 0x100); // a header that lies
    image.set(btf, 0x800);
    expect(findBtfInImage(image, 64)).toEqual({ start: 0x800, end: 0x800 + btf.length });
    expect(findBtfInImage(image)).toBeUndefined(); // below the 64 KiB of a vmlinux BTF
  });
  it('ignores a blob that runs past the image', () => {
    const btf = types();
    const image = new Uint8Array(0x800 + btf.length - 1);
    image.set(btf.subarray(0, btf.length - 1), 0x800);
    expect(findBtfInImage(image, 64)).toBeUndefined();
  });
});

describe('findBannerInImage', () => {
  it('takes the first banner that is a whole string ending in a newline', () => {
    const image = Buffer.alloc(0x400);
    image.write('xxLinux version 1.0 (inside another string)\n', 0x10, 'latin1');
    image.write('Linux version 6.1.0-test (builder) #1 SMP\n', 0x100, 'latin1');
    image.write('Linux version 6.1.0-test (log copy)\n', 0x200, 'latin1');
    expect(findBannerInImage(image)).toBe(0x100);
  });
  it('prefers the banner with a build number over the weak one 6.1 leaves behind', () => {
    const image = Buffer.alloc(0x400);
    image.write('Linux version 6.1.0-test (builder) # SMP Debian\n', 0x10, 'latin1');
    image.write('Linux version 6.1.0-test (builder) #1 SMP Debian\n', 0x100, 'latin1');
    expect(findBannerInImage(image)).toBe(0x100);
  });
  it('gives nothing without one', () => {
    expect(findBannerInImage(Buffer.from('Linux version but no end'))).toBeUndefined();
  });
});

describe('findSyscallTableInImage', () => {
  const symbols = new SortedSymbolTable([
    { name: '_stext', type: 'T', address: TEXT },
    { name: '__arm64_sys_io_setup', type: 'T', address: TEXT + 0x100n },
    { name: '__arm64_sys_io_destroy', type: 'T', address: TEXT + 0x200n },
    { name: '__arm64_sys_read', type: 'T', address: TEXT + 0x300n },
    { name: '__arm64_compat_sys_io_setup', type: 'T', address: TEXT + 0x400n },
    { name: '_etext', type: 'T', address: TEXT + 0x1000n },
  ]);
  const text = { start: TEXT, end: TEXT + 0x1000n };
  const table = (entries: bigint[]) => {
    const image = Buffer.alloc(0x200);
    entries.forEach((entry, index) => image.writeBigUInt64LE(entry, 0x40 + index * 8));
    return image;
  };

  it('finds the table by its first two entries and counts a hooked entry as part of it', () => {
    const hook = 0xffff_d36b_6280_0000n; // a module, outside the kernel text
    const image = table([TEXT + 0x100n, TEXT + 0x200n, hook, TEXT + 0x300n, TEXT + 0x400n]);
    expect(findSyscallTableInImage(image, symbols, text)).toEqual({ offset: 0x40, entries: 4 });
  });
  it('ends the table at a non-pointer', () => {
    const image = table([TEXT + 0x100n, TEXT + 0x200n, TEXT + 0x300n, 0x1234n]);
    expect(findSyscallTableInImage(image, symbols, text)).toEqual({ offset: 0x40, entries: 3 });
  });
  it('needs the first entries to be io_setup and io_destroy', () => {
    expect(findSyscallTableInImage(table([TEXT + 0x200n, TEXT + 0x100n]), symbols, text)).toBe(
      undefined,
    );
  });
});

describe('init_task and the module list by shape', () => {
  // Identity-mapped "kernel": the image is memory at virtual 0.
  const typeTable = parseBtf(types(), { source: 'test' });
  const build = () => {
    const bytes = new Uint8Array(0x10000);
    const view = new DataView(bytes.buffer);
    const reader = new KernelReader(identitySpace(bytes), typeTable);
    return { bytes, view, reader };
  };
  const writeString = (bytes: Uint8Array, at: number, text: string) =>
    bytes.set(new TextEncoder().encode(`${text}\0`), at);

  it('finds the task whose comm is swapper/0, pid 0, with a consistent tasks list', () => {
    const { bytes, view, reader } = build();
    // A decoy: the string alone, with a broken list.
    writeString(bytes, 0x1000 + 24, 'swapper/0');
    view.setBigUint64(0x1000, 0x9999n, true);
    // init_task at 0x2000 on a ring with one other task at 0x3000.
    writeString(bytes, 0x2000 + 24, 'swapper/0');
    view.setBigUint64(0x2000, 0x3000n, true);
    view.setBigUint64(0x2008, 0x3000n, true);
    view.setBigUint64(0x3000, 0x2000n, true);
    view.setBigUint64(0x3008, 0x2000n, true);
    view.setUint32(0x3010, 1, true);
    expect(findInitTask(reader, bytes, 0n)).toBe(0x2000n);
  });
  it('finds no init_task when the pid is not 0', () => {
    const { bytes, view, reader } = build();
    writeString(bytes, 0x2000 + 24, 'swapper/0');
    view.setBigUint64(0x2000, 0x3000n, true);
    view.setBigUint64(0x3008, 0x2000n, true);
    view.setUint32(0x2010, 7, true);
    expect(findInitTask(reader, bytes, 0n)).toBeUndefined();
  });

  it('finds the list head whose ring of modules returns to it, skipping look-alikes', () => {
    const { bytes, view, reader } = build();
    // Modules at 0x8000 and 0x9000 (list at +8, name at +24); the head at 0x400 (the "data").
    const head = 0x400;
    const link = (node: number, next: number, prev: number) => {
      view.setBigUint64(node, BigInt(next), true);
      view.setBigUint64(node + 8, BigInt(prev), true);
    };
    link(head, 0x8008, 0x9008);
    link(0x8008, 0x9008, head);
    link(0x9008, head, 0x8008);
    writeString(bytes, 0x8000 + 24, 'dummy');
    writeString(bytes, 0x9000 + 24, 'loop');
    // A look-alike before it: next points at a "module" whose prev does not point back.
    link(0x300, 0xa008, 0xa008);
    writeString(bytes, 0xa000 + 24, 'fake');
    // The image is the first 0x1000 bytes; modules live outside it.
    expect(findModuleList(reader, bytes.subarray(0, 0x1000), 0n, 0)).toBe(BigInt(head));
  });
  it('does not take a ring that never returns to the head', () => {
    const { bytes, view, reader } = build();
    view.setBigUint64(0x400, 0x8008n, true);
    view.setBigUint64(0x408, 0x8008n, true);
    view.setBigUint64(0x8008, 0x9008n, true);
    view.setBigUint64(0x8010, 0x400n, true);
    view.setBigUint64(0x9008, 0x8008n, true); // loops between the modules
    writeString(bytes, 0x8000 + 24, 'dummy');
    expect(findModuleList(reader, bytes.subarray(0, 0x1000), 0n, 0)).toBeUndefined();
  });
});

describe('the searches on hostile bytes', () => {
  it('never throw and never loop, whatever the image holds', () => {
    const typeTable = parseBtf(types(), { source: 'test' });
    const symbols = new SortedSymbolTable([
      { name: '__arm64_sys_io_setup', type: 'T', address: 0x100n },
      { name: '__arm64_sys_io_destroy', type: 'T', address: 0x200n },
    ]);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0x2000, maxLength: 0x2000 }), (random) => {
        // Plant pointers back into the buffer so that list and table checks get past their filters.
        const bytes = new Uint8Array(random);
        const view = new DataView(bytes.buffer);
        for (let at = 0; at + 8 <= bytes.length; at += 0x40) {
          view.setBigUint64(at, BigInt(view.getUint16(at, true) & 0x1ff8), true);
        }
        bytes.set(new TextEncoder().encode('swapper/0\0Linux version x #1\n\0'), 0x800);
        const reader = new KernelReader(identitySpace(bytes), typeTable);
        findBtfInImage(bytes, 64);
        findBannerInImage(bytes);
        findSyscallTableInImage(bytes, symbols, { start: 0n, end: 0x1000n });
        findInitTask(reader, bytes, 0n);
        // The first quarter is the "image": pointers beyond it look like modules and get ring walks.
        findModuleList(reader, bytes.subarray(0, 0x800), 0n, 0);
      }),
      { numRuns: 200 },
    );
  });
});
