// A pause that ends early when its signal aborts (Node's timers/promises; the abort is not an error
// here: the caller looks at the signal). Also right for a signal aborted before the call.
import { setTimeout as wait } from 'node:timers/promises';

export const sleepUnlessAborted = (ms: number, signal: AbortSignal): Promise<void> =>
  wait(ms, undefined, { signal }).then(
    () => undefined,
    (error: unknown) => {
      if (!signal.aborted) throw error;
    },
  );
