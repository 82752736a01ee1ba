// A fuzz campaign: a private copy of a clean dump, cases applied to it as patches and reverted after,
// each run in a worker process with a CPU budget; a crash or hang is recorded with its seed and index
// (replay: `npm run fuzz -- --dump D --seed S --only I`). Dumps are never written back or committed.
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { mapDump, type DumpMap } from './dump-map.js';
import { makeCase, type FuzzCase, type Patch } from './mutate.js';
import type { Outcome } from './targets.js';
import type { WorkerReply } from './worker.js';

export interface CampaignOptions {
  dump: string;
  /** Where the working copy goes (it is removed at the end). */
  workDir: string;
  seed: number;
  /** Stop after this many cases … */
  cases: number;
  /** … or after this long, whichever comes first. */
  timeLimitMs?: number;
  /** A case using more CPU than this is a hang (the harness: 5 s). */
  cpuBudgetMs?: number;
  /** Run only these case indices (replay). */
  only?: number[];
  /** Resume: start at this case index (cases before it were run by an earlier campaign). Default 0. */
  firstIndex?: number;
  /** Resume: the earlier campaign's summary, which this one extends (cases, findings, outcomes). */
  previous?: CampaignSummary;
  /** Called after each case (progress, saving the state); `index` is the case just run. */
  onCase?: (done: number, summary: CampaignSummary, index: number) => void;
}

export interface Finding {
  seed: number;
  index: number;
  kind: string;
  region: string;
  target: string;
  message: string;
}

export interface CampaignSummary {
  cases: number;
  crashes: Finding[];
  hangs: (Finding & { cpuMs: number })[];
  /** Per target: how many cases ended ok, partial, in a typed error or a crash. */
  outcomes: Record<string, Record<Outcome, number>>;
  slowestCpuMs: number;
  elapsedMs: number;
}

// The worker runs as compiled JavaScript: from the TypeScript sources (jest), that of dist/.
const WORKER = import.meta.url.endsWith('.ts')
  ? new URL('../dist/fuzz/worker.js', import.meta.url)
  : new URL('./worker.js', import.meta.url);

class Worker {
  private child: ChildProcess | undefined;

  async start(): Promise<void> {
    const child = fork(WORKER, [], { execArgv: [], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`fuzz worker exited (${code}) at start`)));
    });
  }

  /** The reply, or undefined when the worker took longer than `wallMs` or died (it is restarted). */
  async run(
    path: string,
    cls: FuzzCase['class'],
    wallMs: number,
  ): Promise<WorkerReply | 'died' | 'timeout'> {
    if (!this.child) await this.start();
    const child = this.child!;
    const outcome = await new Promise<WorkerReply | 'died' | 'timeout'>((resolve) => {
      const timer = setTimeout(() => resolve('timeout'), wallMs);
      const onExit = () => {
        clearTimeout(timer);
        resolve('died');
      };
      child.once('exit', onExit);
      child.once('message', (reply: WorkerReply) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(reply);
      });
      child.send({ path, class: cls });
    });
    if (outcome === 'timeout' || outcome === 'died') this.stop();
    return outcome;
  }

  stop(): void {
    this.child?.removeAllListeners();
    this.child?.kill('SIGKILL');
    this.child = undefined;
  }
}

/** Applies a case to the working copy and returns the patches that undo it. */
function apply(fd: number, cleanFd: number, patches: readonly Patch[]): Patch[] {
  const undo: Patch[] = [];
  for (const patch of patches) {
    const original = new Uint8Array(patch.bytes.length);
    readSync(cleanFd, original, 0, original.length, patch.offset);
    undo.push({ offset: patch.offset, bytes: original });
    let bytes = patch.bytes;
    if (patch.copyFrom !== undefined) {
      bytes = new Uint8Array(patch.bytes.length);
      readSync(cleanFd, bytes, 0, bytes.length, patch.copyFrom);
    } else if (patch.xor) bytes = original.map((byte, i) => byte ^ patch.bytes[i]!);
    writeSync(fd, bytes, 0, bytes.length, patch.offset);
  }
  return undo.reverse();
}

export async function runCampaign(options: CampaignOptions): Promise<CampaignSummary> {
  const started = Date.now();
  const cpuBudgetMs = options.cpuBudgetMs ?? 5000;
  const copy = join(options.workDir, 'fuzz-working-copy.elf');
  copyFileSync(options.dump, copy);
  const map: DumpMap = mapDump(copy);
  const fd = openSync(copy, 'r+');
  const cleanFd = openSync(options.dump, 'r');
  const worker = new Worker();
  const previous = options.previous;
  const summary: CampaignSummary = {
    cases: previous?.cases ?? 0,
    crashes: [...(previous?.crashes ?? [])],
    hangs: [...(previous?.hangs ?? [])],
    outcomes: structuredClone(previous?.outcomes ?? {}),
    slowestCpuMs: previous?.slowestCpuMs ?? 0,
    elapsedMs: previous?.elapsedMs ?? 0,
  };
  const firstIndex = options.firstIndex ?? 0;
  try {
    const indices =
      options.only ??
      Array.from({ length: Math.max(0, options.cases - firstIndex) }, (_, i) => firstIndex + i);
    for (const index of indices) {
      if (options.timeLimitMs !== undefined && Date.now() - started > options.timeLimitMs) break;
      const fuzzCase = makeCase(map, options.seed, index);
      const undo = apply(fd, cleanFd, fuzzCase.patches);
      const about = { seed: options.seed, index, kind: fuzzCase.kind, region: fuzzCase.region };
      try {
        // A wall-clock limit well above the CPU budget: the machine is shared and niced.
        const reply = await worker.run(copy, fuzzCase.class, Math.max(6 * cpuBudgetMs, 30_000));
        summary.cases++;
        if (reply === 'timeout' || reply === 'died') {
          summary.hangs.push({ ...about, target: '?', message: reply, cpuMs: Infinity });
          continue;
        }
        summary.slowestCpuMs = Math.max(summary.slowestCpuMs, reply.cpuMs);
        if (reply.cpuMs > cpuBudgetMs)
          summary.hangs.push({
            ...about,
            target: 'all',
            message: 'over the CPU budget',
            cpuMs: reply.cpuMs,
          });
        for (const result of reply.results) {
          const counts = (summary.outcomes[result.target] ??= {
            ok: 0,
            partial: 0,
            'typed-error': 0,
            crash: 0,
          });
          counts[result.outcome]++;
          if (result.outcome === 'crash')
            summary.crashes.push({
              ...about,
              target: result.target,
              message: result.message ?? '',
            });
        }
      } finally {
        apply(fd, cleanFd, undo);
        // Structural cases wrote far from the region they name; a data case reuses the worker's
        // kernel, which must next see the clean copy.
      }
      summary.elapsedMs = (previous?.elapsedMs ?? 0) + Date.now() - started;
      options.onCase?.(summary.cases, summary, index);
    }
  } finally {
    worker.stop();
    closeSync(fd);
    closeSync(cleanFd);
    rmSync(copy, { force: true });
  }
  summary.elapsedMs = (previous?.elapsedMs ?? 0) + Date.now() - started;
  return summary;
}
