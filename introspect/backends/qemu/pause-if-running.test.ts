// pauseIfRunning against a recording monitor: a running guest is stopped and continued, a stopped
// one is only asked about and left as it was, and a failed stop resumes nothing.
import type { QmpChannel } from './qmp.js';
import { pauseIfRunning } from './pause-if-running.js';

function monitor(running: boolean, failStop = false): { qmp: QmpChannel; sent: string[] } {
  const sent: string[] = [];
  const qmp: QmpChannel = {
    path: 'test',
    execute: async <T>(command: string): Promise<T> => {
      sent.push(command);
      if (command === 'stop' && failStop) throw new Error('stop refused');
      return (
        command === 'query-status' ? { running, status: running ? 'running' : 'paused' } : {}
      ) as T;
    },
    onEvent: () => () => undefined,
    close: () => undefined,
  };
  return { qmp, sent };
}

describe('pauseIfRunning', () => {
  it('stops a running guest and continues it', async () => {
    const { qmp, sent } = monitor(true);
    const pause = pauseIfRunning(qmp);
    await pause.pause();
    await pause.resume();
    expect(sent).toEqual(['query-status', 'stop', 'cont']);
  });

  it('leaves a guest someone else paused paused', async () => {
    const { qmp, sent } = monitor(false);
    const pause = pauseIfRunning(qmp);
    await pause.pause();
    await pause.resume();
    expect(sent).toEqual(['query-status']);
  });

  it('resumes nothing when the stop failed', async () => {
    const { qmp, sent } = monitor(true, true);
    const pause = pauseIfRunning(qmp);
    await expect(pause.pause()).rejects.toThrow('stop refused');
    await pause.resume();
    expect(sent).toEqual(['query-status', 'stop']);
  });
});
