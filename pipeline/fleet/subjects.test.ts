// Subject tokens from hostile names, subject parsing and event ids.
import type { VmiEvent } from '../../introspect/events/event.js';
import { eventId, eventSubject, findingSubject, parseSubject, subjectToken } from './subjects.js';

const event = (pid: number): VmiEvent =>
  ({
    type: 'process.exec',
    domain: 'web-1',
    vcpu: 0,
    time: 1000 + pid,
    timestamp: '2026-01-01T00:00:01.000Z',
    process: { pid, name: 'ls' },
  }) as unknown as VmiEvent;

describe('fleet subjects', () => {
  it('keeps plain names and builds the documented subjects', () => {
    expect(eventSubject('host-1', 'web_1', 'process.exec')).toBe(
      'ringside.events.host-1.web_1.process_exec',
    );
    expect(findingSubject('host-1', 'web_1')).toBe('ringside.findings.host-1.web_1');
    expect(parseSubject('ringside.findings.host-1.web_1')).toEqual({
      host: 'host-1',
      guest: 'web_1',
    });
    expect(parseSubject('other.subject')).toBeUndefined();
  });

  it('never lets a name split or widen a subject, and keeps different names apart', () => {
    for (const hostile of ['a.b', '*', '>', 'a b', '', 'x\ny', 'é', 'a'.repeat(500)]) {
      const token = subjectToken(hostile);
      expect(token).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
    }
    expect(subjectToken('a.b')).not.toBe(subjectToken('a*b'));
    expect(subjectToken('a.b')).not.toBe('a_b');
  });

  it('gives an event the same id every time and distinct events distinct ids', () => {
    expect(eventId('h', event(1))).toBe(eventId('h', event(1)));
    expect(eventId('h', event(1))).not.toBe(eventId('h', event(2)));
    expect(eventId('h', event(1))).not.toBe(eventId('g', event(1)));
  });
});
