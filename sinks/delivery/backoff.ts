// Retry delays: exponential, capped, with jitter so that many Ringside processes coming back after an
// outage do not hammer the SIEM in step. Pure given the random source.

export interface BackoffOptions {
  /** First delay, ms. Default 200. */
  baseMs?: number;
  /** Largest delay, ms. Default 30 000. */
  maxMs?: number;
}

/** The delay before retry number `attempt` (0-based): uniform in [cap/2, cap], cap = base·2^attempt. */
export function backoffDelay(
  attempt: number,
  options: BackoffOptions = {},
  random = Math.random,
): number {
  const base = options.baseMs ?? 200;
  const max = options.maxMs ?? 30_000;
  const cap = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + (random() * cap) / 2);
}
