// Progress lines on stderr: shown only for steps longer than a second, and never after a failed step.
import { jest } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { createProgress, withProgress } from './progress.js';

const pipe = () => {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
  const written: string[] = [];
  stream.on('data', (chunk: Buffer) => written.push(chunk.toString()));
  return { stream, written };
};

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('withProgress', () => {
  it('prints nothing after a step that fails, however long it took', () => {
    const { stream, written } = pipe();
    const progress = createProgress(stream);
    expect(() =>
      withProgress(progress, 'reading dump.elf', () => {
        jest.setSystemTime(Date.now() + 1500);
        throw new Error('no Linux kernel found');
      }),
    ).toThrow('no Linux kernel found');
    jest.advanceTimersByTime(5000);
    expect(written.join('')).toBe('');
  });

  it('names a step that is still running after a second, with escapes shown', () => {
    const { stream, written } = pipe();
    const progress = createProgress(stream);
    progress.step('reading \x1b[2Jdump');
    jest.advanceTimersByTime(1100);
    progress.done();
    expect(written.join('')).toMatch(/^reading \\x1b\[2Jdump…\nreading \\x1b\[2Jdump: done in/);
  });
});
