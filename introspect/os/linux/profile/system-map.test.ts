import { InputError } from '../../../errors.js';
import { parseSystemMap } from './system-map.js';

const SAMPLE = [
  '0000000000000000 D __per_cpu_start',
  '0000000000001000 D cpu_number',
  'ffffffff81000000 T _text',
  'ffffffff81000000 T startup_64',
  'ffffffff810a1b20 t do_one_initcall_static',
  'ffffffff810a1b20 T do_one_initcall',
  'ffffffff82000000 R linux_banner',
  'ffffffff82e0f940 D init_task',
  '',
].join('\n');

describe('parseSystemMap', () => {
  it('reads symbols with their type letters, sorted by address', () => {
    const table = parseSystemMap(SAMPLE);
    expect(table.size).toBe(8);
    expect(table.address('init_task')).toBe(0xffffffff82e0f940n);
    expect(table.symbol('linux_banner')).toEqual({
      name: 'linux_banner',
      address: 0xffffffff82000000n,
      type: 'R',
    });
    expect(table.all()[0]!.name).toBe('__per_cpu_start');
    expect(table.nearest(0xffffffff810a1b30n)?.offset).toBe(0x10n);
  });

  it('adds the KASLR slide to kernel addresses but not to per-CPU offsets', () => {
    const table = parseSystemMap(SAMPLE, { slide: 0x1a00000n });
    expect(table.address('_text')).toBe(0xffffffff82a00000n);
    expect(table.address('init_task')).toBe(0xffffffff82e0f940n + 0x1a00000n);
    expect(table.address('cpu_number')).toBe(0x1000n);
  });

  it('accepts CRLF line ends, tabs, 32-bit addresses and kallsyms module suffixes', () => {
    const table = parseSystemMap(
      'c1000000 T _text\r\nffffffffc0a01000\tt ext4_fill_super\t[ext4]\r\n\r\n',
    );
    expect(table.address('_text')).toBe(0xc1000000n);
    expect(table.address('ext4_fill_super')).toBe(0xffffffffc0a01000n);
  });

  it('names the file and the line of a malformed line', () => {
    const broken = `${SAMPLE}ffffffff8zzz0000 T bad\n`;
    expect(() => parseSystemMap(broken, { source: '/boot/System.map-6.1' })).toThrow(
      new InputError(
        'line 9 is not "<hex address> <type letter> <name>": "ffffffff8zzz0000 T bad"',
        '/boot/System.map-6.1',
      ),
    );
    for (const line of [
      'ffffffff81000000 T',
      'ffffffff81000000 TT _text',
      '11112222333344445 T x',
    ]) {
      expect(() => parseSystemMap(line)).toThrow(/System\.map: line 1 is not/);
    }
    expect(() => parseSystemMap('\n\n')).toThrow(/System\.map: holds no symbols/);
  });

  it('parses a full-size map quickly', () => {
    const lines: string[] = [];
    for (let index = 0; index < 150_000; index++) {
      lines.push(`${(0xffffffff81000000n + BigInt(index * 16)).toString(16)} T symbol_${index}`);
    }
    const started = performance.now();
    const table = parseSystemMap(lines.join('\n'));
    expect(table.size).toBe(150_000);
    expect(table.address('symbol_149999')).toBe(0xffffffff81000000n + 149_999n * 16n);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
