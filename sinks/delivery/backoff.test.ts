import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  it('doubles up to the cap, with jitter between half and all of it', () => {
    const options = { baseMs: 100, maxMs: 1000 };
    expect(backoffDelay(0, options, () => 0)).toBe(50);
    expect(backoffDelay(0, options, () => 1)).toBe(100);
    expect(backoffDelay(3, options, () => 0)).toBe(400);
    expect(backoffDelay(3, options, () => 1)).toBe(800);
    expect(backoffDelay(10, options, () => 1)).toBe(1000);
    expect(backoffDelay(500, options, () => 0.5)).toBe(750);
  });

  it('spreads retries of many clients', () => {
    const delays = new Set(Array.from({ length: 100 }, () => backoffDelay(4)));
    expect(delays.size).toBeGreaterThan(50);
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(1600);
      expect(delay).toBeLessThanOrEqual(3200);
    }
  });
});
