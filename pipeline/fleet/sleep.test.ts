// sleepUnlessAborted: waits its time, ends at an abort (also one before the call), never rejects for it.
import { sleepUnlessAborted } from './sleep.js';

describe('sleepUnlessAborted', () => {
  it('waits its time when nothing aborts', async () => {
    const started = Date.now();
    await sleepUnlessAborted(50, new AbortController().signal);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('ends at an abort, and at once for a signal aborted before the call', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const sleeping = sleepUnlessAborted(60_000, controller.signal);
    controller.abort();
    await expect(sleeping).resolves.toBeUndefined();
    await expect(sleepUnlessAborted(60_000, controller.signal)).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
