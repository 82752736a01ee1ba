// Tests of UDP pacing: turns are served in order across concurrent callers, a burst passes at once,
// and what goes beyond it waits (counted) at least as long as the rate says.
import { Pacer } from './pacer.js';

describe('Pacer', () => {
  it('lets a burst through, makes the rest wait their turn, and serves callers in order', async () => {
    const pacer = new Pacer(1000, 5);
    const order: number[] = [];
    const started = performance.now();
    await Promise.all(Array.from({ length: 20 }, (_, n) => pacer.take().then(() => order.push(n))));
    expect(order).toEqual(Array.from({ length: 20 }, (_, n) => n));
    // 15 beyond the burst at 1 per ms: never sooner than 15 ms (a lower bound, not a speed test).
    expect(performance.now() - started).toBeGreaterThanOrEqual(14);
    expect(pacer.waited).toBeGreaterThan(0);
  });

  it('does not make a datagram wait while the rate is not reached', async () => {
    const pacer = new Pacer(1000, 10);
    for (let n = 0; n < 10; n++) await pacer.take();
    expect(pacer.waited).toBe(0);
  });
});
