// The state file of a resumable fuzz campaign: its seed, its dump, the next case index and the summary
// so far, rewritten atomically (temporary file, then rename) so that a killed run resumes where it was.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { InputError } from '../introspect/errors.js';
import type { CampaignSummary } from './campaign.js';

export interface FuzzState {
  version: 1;
  seed: number;
  /** The dump every case of this campaign mutates (cases are a function of dump, seed and index). */
  dump: string;
  /** The first case index not yet run. */
  nextIndex: number;
  summary: CampaignSummary;
}

/** The saved state, or undefined when there is none yet; a file that is not a state is bad input. */
export function loadFuzzState(path: string): FuzzState | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InputError('cannot read the fuzz state', path, { cause: error });
  }
  let state: Partial<FuzzState>;
  try {
    state = JSON.parse(text) as Partial<FuzzState>;
  } catch (error) {
    throw new InputError('the fuzz state is not JSON', path, { cause: error });
  }
  if (
    state.version !== 1 ||
    !Number.isInteger(state.seed) ||
    typeof state.dump !== 'string' ||
    !Number.isInteger(state.nextIndex) ||
    typeof state.summary !== 'object' ||
    state.summary === null
  )
    throw new InputError('not a fuzz state file (version 1)', path);
  // JSON has no Infinity: a hang that timed out comes back as null.
  for (const hang of state.summary.hangs) hang.cpuMs ??= Infinity;
  return state as FuzzState;
}

export function saveFuzzState(path: string, state: FuzzState): void {
  writeFileSync(`${path}.tmp`, JSON.stringify(state));
  renameSync(`${path}.tmp`, path);
}
