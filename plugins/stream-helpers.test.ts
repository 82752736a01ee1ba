// Marble tests (rxjs TestScheduler) of the stream helpers detectors are built from: periodicEvents
// (interval + exhaustMap on an injectable scheduler), hookEvents, and startDetectors' merge.
import { NEVER, Observable, type Subscriber } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { HookContext } from '../introspect/domain/types.js';
import { RingsideError } from '../introspect/errors.js';
import type { VmiEvent } from '../introspect/events/event.js';
import { FakeDomain } from '../introspect/domain/test-support/fake-domain.js';
import { FakeLinux } from '../introspect/os/linux/test-support/fake-linux.js';
import { hookEvents, periodicEvents } from './guest-context.js';
import { startDetectors } from './index.js';
import type { DetectorPlugin } from './types.js';

const event = (name: string): VmiEvent => ({
  type: 'lifecycle',
  domain: 'marbles',
  time: 0,
  details: { name },
});
const EVENTS = { a: event('a'), b: event('b'), c: event('c') };

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

describe('periodicEvents', () => {
  it('runs the check every interval and emits each of its events', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const checks = [cold('(x|)', { x: [EVENTS.a] }), cold('(x|)', { x: [EVENTS.b, EVENTS.c] })];
      let round = 0;
      const stream = periodicEvents(10, () => checks[round++] ?? cold('|'));
      expectObservable(stream, '^ 35ms !').toBe('10ms a 9ms (bc)', EVENTS);
    });
  });

  it('drops the ticks that find the last check still running (never two at once)', () => {
    scheduler().run(({ cold, expectObservable }) => {
      // Each check takes 15 ms: the tick at 20 finds the first (10..25) running and is dropped.
      const stream = periodicEvents(10, () => {
        return cold('15ms (x|)', { x: [EVENTS.a] });
      });
      expectObservable(stream, '^ 50ms !').toBe('25ms a 19ms a', EVENTS);
    });
  });

  it('skips a round whose guest structure could not be read, and tries again', () => {
    scheduler().run(({ cold, expectObservable }) => {
      let round = 0;
      const stream = periodicEvents(10, () =>
        round++ === 0
          ? cold('#', {}, new RingsideError('GUEST_STRUCTURE', 'task list unreadable'))
          : cold('(x|)', { x: [EVENTS.a] }),
      );
      expectObservable(stream, '^ 25ms !').toBe('20ms a', EVENTS);
    });
  });

  it('ends with the error of a bug (any other error), whether thrown or emitted', () => {
    const bug = new TypeError('bug');
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(periodicEvents(10, () => cold('#', {}, bug))).toBe('10ms #', {}, bug);
      expectObservable(
        periodicEvents(10, () => {
          throw bug;
        }),
      ).toBe('10ms #', {}, bug);
    });
  });

  it('stops the clock and the running check on unsubscribe', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const check = cold('15ms (x|)', { x: [EVENTS.a] });
      expectObservable(
        periodicEvents(10, () => check),
        '^ 18ms !',
      ).toBe('', EVENTS);
      expectSubscriptions(check.subscriptions).toBe('10ms ^ 8ms !');
    });
  });
});

describe('hookEvents', () => {
  /** A domain whose one hook is driven by the marble `hits`, counting (un)subscriptions. */
  function marbleDomain(hits: Observable<HookContext>): FakeDomain {
    const domain = new FakeDomain();
    domain.hook = () => hits;
    return domain;
  }
  const context = (name: string): HookContext => ({
    event: event(name),
    hold: () => undefined,
  });
  const spec = { kind: 'exec', address: 0x1000n, name: 'test' } as const;

  it('maps each hit to its events, turns an unreadable structure into an event, and ends with a bug', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const hits = cold('a-----b-c-d', {
        a: context('a'),
        b: context('unreadable'),
        c: context('none'),
        d: context('bug'),
      });
      const stream = hookEvents(
        marbleDomain(hits),
        spec,
        ({ event: hit }) => {
          const name = hit.details!.name;
          if (name === 'unreadable') throw new RingsideError('GUEST_STRUCTURE', 'no task');
          if (name === 'bug') throw new TypeError('bug');
          if (name === 'none') return undefined;
          return [EVENTS.a, EVENTS.b];
        },
        (_, error) => event(`unreadable: ${error.message}`),
      );
      expectObservable(stream).toBe(
        '(ab)--u---#',
        { ...EVENTS, u: event('unreadable: no task') },
        new TypeError('bug'),
      );
      expectSubscriptions(hits.subscriptions).toBe('^---------!');
    });
  });

  it('removes its hook when unsubscribed', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const hits = cold<HookContext>('---');
      expectObservable(
        hookEvents(
          marbleDomain(hits),
          spec,
          () => undefined,
          () => undefined,
        ),
        '^-!',
      ).toBe('');
      expectSubscriptions(hits.subscriptions).toBe('^-!');
    });
  });
});

describe('startDetectors', () => {
  const plugin = (id: string, stream: Observable<VmiEvent>): DetectorPlugin => ({
    meta: {
      id,
      version: '1.0.0',
      description: id,
      architectures: ['x86_64'],
      symbols: [],
      capabilities: {},
      emits: ['lifecycle'],
    },
    start: () => stream,
  });

  it('merges the detectors’ streams as they emit, and unsubscribes them all together', () => {
    const linux = new FakeLinux();
    const context = { domain: new FakeDomain(), kernel: linux.kernel() };
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const one = cold('a---b', EVENTS);
      const two = cold('--c----', EVENTS);
      expectObservable(
        startDetectors([plugin('one', one), plugin('two', two)], context),
        '^-----!',
      ).toBe('a-c-b-', EVENTS);
      expectSubscriptions(one.subscriptions).toBe('^-----!');
      expectSubscriptions(two.subscriptions).toBe('^-----!');
    });
  });

  it('refuses before subscribing to any detector when one cannot run', () => {
    const linux = new FakeLinux();
    const context = { domain: new FakeDomain(), kernel: linux.kernel() };
    let subscribed = false;
    const watched = new Observable<VmiEvent>((subscriber: Subscriber<VmiEvent>) => {
      subscribed = true;
      subscriber.complete();
    });
    const needy = {
      ...plugin('needy', NEVER),
      meta: { ...plugin('needy', NEVER).meta, symbols: ['no_such_symbol'] },
    };
    expect(() => startDetectors([plugin('fine', watched), needy], context)).toThrow(
      /plugin needy cannot run on fake-guest: kernel symbol no_such_symbol is missing/,
    );
    expect(subscribed).toBe(false);
  });
});
