// The agent's batches of one guest's events: the message a batch becomes, its stable id, its bounds,
// and the events a worker unpacks from it (or from a single-event message).
import type { VmiEvent } from '../../introspect/events/event.js';
import {
  MAX_BATCH_BYTES,
  MAX_BATCH_EVENTS,
  batchId,
  eventMessage,
  isBatchSubject,
  outgoingEvent,
  takeBatch,
  unpackEvents,
} from './event-batch.js';
import { eventId } from './subjects.js';

const event = (time: number, name = 'sh'): VmiEvent =>
  ({
    type: 'process.exec',
    domain: 'g',
    time,
    process: { pid: 100 + time, name, executable: `/bin/${name}` },
  }) as VmiEvent;

describe('event batches', () => {
  it('sends one event as before: its own subject, id and JSON', () => {
    const one = outgoingEvent('h', event(1));
    expect(one.id).toBe(eventId('h', event(1)));
    const message = eventMessage('h', 'web-1', [one]);
    expect(message).toEqual({
      subject: 'ringside.events.h.web-1.process_exec',
      id: one.id,
      payload: one.json,
    });
    expect(isBatchSubject(message.subject)).toBe(false);
    expect(unpackEvents(`${message.subject}.3`, message.payload)).toEqual([one.json]);
  });

  it('packs several into one message whose id follows its events, and unpacks them in order', () => {
    const events = [1, 2, 3].map((time) => outgoingEvent('h', event(time)));
    const message = eventMessage('h', 'web-1', events);
    expect(message.subject).toBe('ringside.events.h.web-1.batch');
    expect(isBatchSubject(`${message.subject}.5`)).toBe(true);
    // A re-send of the same events has the same id (the duplicate window drops it); others differ.
    expect(message.id).toBe(eventMessage('h', 'web-1', events).id);
    expect(message.id).toBe(batchId(events.map((e) => e.id)));
    expect(message.id).not.toBe(eventMessage('h', 'web-1', events.slice(0, 2)).id);
    expect(message.id).not.toBe(eventMessage('h', 'web-1', [...events].reverse()).id);
    expect(unpackEvents(`${message.subject}.5`, message.payload)).toEqual(
      events.map((e) => e.json),
    );
  });

  it('bounds a batch by events and by bytes, and always takes at least one', () => {
    const many = Array.from({ length: MAX_BATCH_EVENTS + 5 }, (_, n) =>
      outgoingEvent('h', event(n)),
    );
    expect(takeBatch(many)).toHaveLength(MAX_BATCH_EVENTS);
    expect(many).toHaveLength(5);
    const big = outgoingEvent('h', event(1, 'x'.repeat(MAX_BATCH_BYTES)));
    const waiting = [big, outgoingEvent('h', event(2))];
    expect(takeBatch(waiting)).toEqual([big]);
    expect(takeBatch(waiting)).toHaveLength(1);
    expect(waiting).toHaveLength(0);
  });

  it('gives a line without an id whole, for the decoder to judge', () => {
    expect(unpackEvents('ringside.events.h.g.batch.1', 'junk\n{"a":1}')).toEqual([
      'junk',
      '{"a":1}',
    ]);
  });
});
