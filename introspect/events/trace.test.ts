import { readdirSync, readFileSync } from 'node:fs';
import type { VmiEvent } from './event.js';
import { EVENT_TYPES } from './event.js';
import { decodeTrace, decodeTraceEvent, encodeTrace, encodeTraceEvent } from './trace.js';

const write: VmiEvent = {
  type: 'kernel.write',
  domain: 'guest',
  vcpu: 1,
  time: 12.5,
  registers: { rip: 0xffffffff81234567n, cr3: 0x1000n },
  vmi: {
    gpa: 0x1a2b000n,
    gva: 0xffffffff82000100n,
    access: 'w',
    size: 8,
    symbol: 'sys_call_table+0x100',
  },
  process: { pid: 42, name: 'insmod', args: ['insmod', 'x.ko'], task: 0xffff888003a00000n },
  details: { note: 'kept as is', big: '0x10' },
};

describe('trace encoding', () => {
  it('writes bigint as 0x strings and reads them back as bigint', () => {
    const line = encodeTraceEvent(write);
    expect(line).toContain('"gpa":"0x1a2b000"');
    expect(line).not.toContain('\n');
    expect(decodeTraceEvent(line)).toEqual(write);
  });

  it('round-trips a whole trace, skipping blank and comment lines', () => {
    const text = `# recorded\n${encodeTrace([write, { ...write, time: 13 }])}\n`;
    expect(decodeTrace(text, 't.ndjson')).toEqual([write, { ...write, time: 13 }]);
  });

  it('leaves details alone (not decoded by the catalogue)', () => {
    expect(decodeTraceEvent(encodeTraceEvent(write)).details).toEqual({
      note: 'kept as is',
      big: '0x10',
    });
  });

  it.each([
    ['{', 'not JSON'],
    ['[]', 'an event must be a JSON object'],
    ['{"type":"nope","domain":"g","time":1}', 'unknown event type "nope"'],
    ['{"type":"breakpoint","time":1}', 'the event has no domain'],
    ['{"type":"breakpoint","domain":"g"}', 'the event has no numeric time'],
    [
      '{"type":"breakpoint","domain":"g","time":1,"vmi":{"gpa":"12"}}',
      'vmi.gpa: expected an address ("0x…"), got "12"',
    ],
    [
      '{"type":"process.exec","domain":"g","time":1,"process":{"pid":"1"}}',
      'process.pid: expected number, got "1"',
    ],
    [
      '{"type":"process.exec","domain":"g","time":1,"process":{"args":[1]}}',
      'process.args: expected string[], got [1]',
    ],
    [
      '{"type":"breakpoint","domain":"g","time":1,"process":{"pid":1}}',
      'a breakpoint event carries no process (it carries vmi)',
    ],
    [
      '{"type":"module.load","domain":"g","time":1,"network":{"transport":"tcp"}}',
      'a module.load event carries no network (it carries process, module, vmi)',
    ],
    ['{"type":"process.exec","domain":"g","time":1,"user":7}', 'user must be an object'],
    [
      '{"type":"breakpoint","domain":"g","time":1,"registers":{"rip":"x"}}',
      'registers.rip: expected an address',
    ],
  ])('rejects %s naming the file and line', (line, message) => {
    expect(() => decodeTrace(`\n${line}`, 'bad.ndjson')).toThrow(`bad.ndjson: line 2: ${message}`);
  });

  it('decodes every sample trace, each event carrying only the groups of its type', () => {
    const files = readdirSync('samples/traces').filter((name) => name.endsWith('.ndjson'));
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const file of files) {
      const text = readFileSync(`samples/traces/${file}`, 'utf8');
      const events = decodeTrace(text, file);
      expect(events.length).toBeGreaterThan(0);
      for (const event of events) {
        const carried: readonly string[] = EVENT_TYPES[event.type].groups;
        const groups = ['vmi', 'process', 'user', 'module', 'network', 'lifecycle'];
        for (const group of groups.filter((name) => name in event))
          expect(carried).toContain(group);
      }
      expect(decodeTrace(encodeTrace(events), file)).toEqual(events);
    }
  });
});
