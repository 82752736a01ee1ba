// A pause for one consistent read that does not undo someone else's: a guest found stopped (by its
// user, a response action, a dump) is read as it is and left stopped; a running one is resumed.
import type { QmpChannel } from './qmp.js';

export interface PauseForRead {
  pause(): Promise<void>;
  resume(): Promise<void>;
}

export function pauseIfRunning(qmp: QmpChannel): PauseForRead {
  let paused = false;
  return {
    async pause() {
      const { running } = await qmp.execute<{ running: boolean }>('query-status');
      if (!running) return;
      await qmp.execute('stop');
      paused = true;
    },
    async resume() {
      if (!paused) return;
      paused = false;
      await qmp.execute('cont');
    },
  };
}
