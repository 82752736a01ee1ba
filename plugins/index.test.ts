// judgeWithDetectors: each detector judges a snapshot on its own; one refused or unable to read its
// structures is a warning and an outcome, the others still report; a bug is thrown.
import { RingsideError } from '../introspect/errors.js';
import type { VmiEvent } from '../introspect/events/event.js';
import { FakeLinux } from '../introspect/os/linux/test-support/fake-linux.js';
import { judgeWithDetectors } from './index.js';
import type { DetectorPlugin } from './types.js';

const found: VmiEvent = { type: 'lifecycle', domain: 'dump', time: 0 };

function detector(id: string, judge: () => Promise<VmiEvent[]>, symbols: string[] = []) {
  return {
    meta: {
      id,
      version: '1.0.0',
      description: id,
      architectures: ['x86_64'],
      symbols,
      capabilities: { live: [true] },
      emits: ['lifecycle'],
    },
    start: () => {
      throw new Error('not live');
    },
    judge,
  } satisfies DetectorPlugin;
}

const context = () => ({
  kernel: new FakeLinux().kernel(),
  domain: 'dump',
  cpus: [],
  timestamp: '2026-12-03T10:00:00.000Z',
});

describe('judgeWithDetectors', () => {
  it('keeps the findings of the detectors that could judge, and a warning and an outcome for the others', async () => {
    const judgement = await judgeWithDetectors(
      [
        detector('reads', () => Promise.resolve([found])),
        detector('unreadable', () =>
          Promise.reject(new RingsideError('GUEST_STRUCTURE', 'the table page is not in the dump')),
        ),
        detector('needy', () => Promise.resolve([found]), ['no_such_symbol']),
        { ...detector('live-only', () => Promise.resolve([])), judge: undefined },
      ],
      context(),
    );
    expect(judgement).toEqual({
      events: [found],
      warnings: [
        'plugin needy cannot run on dump: kernel symbol no_such_symbol is missing',
        'plugin unreadable could not judge dump: the table page is not in the dump',
      ],
      outcomes: { reads: 'judged', unreadable: 'failed', needy: 'refused' },
    });
  });

  it('throws a bug (an error that is not about the guest)', async () => {
    await expect(
      judgeWithDetectors(
        [detector('buggy', () => Promise.reject(new TypeError('bug')))],
        context(),
      ),
    ).rejects.toThrow('bug');
  });
});
