// Unit tests of module symbol lookup on the fake kernel: the function at or below an address within
// its size, nothing past it or without a table, and a hostile symbol count bounded.
import { FakeLinux } from './test-support/fake-linux.js';
import { writeModuleSymbols } from './test-support/fake-rootkit.js';
import { moduleSymbol } from './module-symbols.js';

function world() {
  const linux = new FakeLinux();
  const module = linux.module('rk', new Uint8Array(0x200));
  const base = linux.get64(module + 0x100n);
  return { linux, module, base };
}

describe('moduleSymbol', () => {
  it('names the function holding an address, with the offset into it', () => {
    const { linux, module, base } = world();
    writeModuleSymbols(linux, module, [
      { name: 'rk_hook', offset: 0x10, size: 0x30 },
      { name: 'rk_init', offset: 0x80, size: 0x10 },
    ]);
    const kernel = linux.kernel();
    expect(moduleSymbol(kernel, module, base + 0x10n)).toBe('rk_hook+0x0');
    expect(moduleSymbol(kernel, module, base + 0x24n)).toBe('rk_hook+0x14');
    expect(moduleSymbol(kernel, module, base + 0x40n)).toBeUndefined(); // past rk_hook's size
    expect(moduleSymbol(kernel, module, base)).toBeUndefined(); // below every symbol
  });

  it('says nothing for a module without symbols, or with a table it cannot read', () => {
    const { linux, module, base } = world();
    expect(moduleSymbol(linux.kernel(), module, base)).toBeUndefined();
    writeModuleSymbols(linux, module, [{ name: 'rk_hook', offset: 0, size: 8 }]);
    const table = linux.get64(module + 0x1f0n);
    linux.set32(table + 8n, 0xffff_ffff); // num_symtab: bounded to 65,536, past fake memory
    linux.set64(table, 0x3f_0000n);
    expect(moduleSymbol(linux.kernel(), module, base)).toBeUndefined();
  });
});
