// The fuzz worker process: runs the targets on the working copy of the dump when its parent says so
// and reports the outcomes and the CPU time used. A hang is its parent's to detect (it kills us).
import { openSnapshotKernel, type OpenedSnapshot } from '../cli/snapshot-context.js';
import { runOnKernel, runTargets, type TargetResult } from './targets.js';

export interface WorkerRequest {
  path: string;
  /** 'data': reuse the kernel opened on the clean copy (a new generation); 'open': open afresh. */
  class: 'open' | 'data';
}

export interface WorkerReply {
  results: TargetResult[];
  cpuMs: number;
}

let clean: OpenedSnapshot | undefined;

process.on('message', (request: WorkerRequest) => {
  void (async () => {
    const before = process.cpuUsage();
    let results: TargetResult[];
    if (request.class === 'data') {
      // Opened once while the copy is clean: symbols and types stay those of the clean dump.
      clean ??= openSnapshotKernel(request.path, { timeLimitMs: 0 });
      clean.kernel.newGeneration();
      results = await runOnKernel(clean);
    } else {
      results = await runTargets(request.path);
    }
    const used = process.cpuUsage(before);
    const reply: WorkerReply = { results, cpuMs: (used.user + used.system) / 1000 };
    if (process.connected) process.send!(reply);
  })();
});
// The campaign was stopped (killed, to resume later from its state file): leave quietly instead of
// dying on a reply to a parent that is gone (EPIPE).
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true });
