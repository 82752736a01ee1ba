import { findingId } from './finding.js';
import type { Finding } from './finding.js';

const base: Omit<Finding, 'id'> = {
  timestamp: '2026-01-01T00:00:00.000Z',
  rule: { id: 'r1', name: 'Rule one' },
  severity: 'high',
  message: 'm',
  mitre: [{ id: 'T1014' }],
  host: { name: 'guest' },
  events: [{ type: 'process.exec', domain: 'guest', time: 1, vmi: { rip: 0xffffffff81000000n } }],
};

describe('findingId', () => {
  it('is the same for the same content whatever the key order or message', () => {
    const reordered = { ...base, message: 'other', events: [{ ...base.events[0]! }] };
    expect(findingId(reordered)).toBe(findingId(base));
  });
  it('differs when the triggering event differs', () => {
    const other = { ...base, events: [{ ...base.events[0]!, time: 2 }] };
    expect(findingId(other)).not.toBe(findingId(base));
  });
});
