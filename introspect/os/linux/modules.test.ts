import { existsSync, readFileSync } from 'node:fs';
import { identitySpace } from '../../memory/test-support/identity-space.js';
import { parseBtf } from './btf/index.js';
import { KernelReader } from './kernel-reader.js';
import type { LinuxKernel } from './linux-kernel.js';
import { readModule } from './modules.js';

// The 6.4+ layout (module.mem[]) is checked against a real kernel's types: the host's own BTF.
const HOST_BTF = '/sys/kernel/btf/vmlinux';
const hostTypes = existsSync(HOST_BTF)
  ? parseBtf(readFileSync(HOST_BTF), { source: HOST_BTF })
  : undefined;
const hasMemArray = hostTypes?.field('module', 'mem') !== undefined;
if (!hasMemArray)
  console.warn(`module.mem test skipped: ${HOST_BTF} is absent or has no module.mem`);

(hasMemArray ? describe : describe.skip)('readModule on a 6.4+ layout (module.mem[])', () => {
  it('takes the base from mem[MOD_TEXT] and sums the four core sizes, as /proc/modules does', () => {
    const types = hostTypes!;
    const bytes = new Uint8Array(64 << 10);
    const view = new DataView(bytes.buffer);
    const module = 0x1000;
    const mem = types.field('module', 'mem')!;
    const array = types.get(types.resolve(mem.type));
    if (array.kind !== 'array') throw new Error('module.mem is not an array');
    const entry = types.sizeOf(array.element);
    const base = types.field('module_memory', 'base')!.offset;
    const size = types.field('module_memory', 'size')!.offset;
    new TextEncoder().encodeInto(
      'dummy',
      bytes.subarray(module + types.field('module', 'name')!.offset),
    );
    view.setBigUint64(module + mem.offset + base, 0xffffffffc0400000n, true);
    [0x3000, 0x1000, 0x2000, 0x1000, 0x9000, 0x9000, 0x9000]
      .slice(0, array.count)
      .forEach((bytesOfType, index) => {
        view.setUint32(module + mem.offset + index * entry + size, bytesOfType, true);
      });
    const kernel = {
      reader: new KernelReader(identitySpace(bytes), types),
    } as unknown as LinuxKernel;
    expect(readModule(kernel, BigInt(module))).toMatchObject({
      name: 'dummy',
      base: 0xffffffffc0400000n,
      size: 0x7000,
    });
  });
});
