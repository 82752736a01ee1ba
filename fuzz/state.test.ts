// The fuzz state file: a campaign saved and loaded again resumes where it was; anything else is refused.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../introspect/errors.js';
import { loadFuzzState, saveFuzzState } from './state.js';
import type { FuzzState } from './state.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringside-fuzz-state-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const state: FuzzState = {
  version: 1,
  seed: 7,
  dump: '/somewhere/fuzz.elf',
  nextIndex: 1234,
  summary: {
    cases: 1234,
    crashes: [],
    hangs: [
      {
        seed: 7,
        index: 9,
        kind: 'bytes',
        region: 'bt',
        target: '?',
        message: 'timeout',
        cpuMs: Infinity,
      },
    ],
    outcomes: { pslist: { ok: 1, partial: 2, 'typed-error': 3, crash: 0 } },
    slowestCpuMs: 812,
    elapsedMs: 60_000,
  },
};

it('has no state before the first save', () => {
  expect(loadFuzzState(join(dir, 'state.json'))).toBeUndefined();
});

it('loads what was saved, a timed-out hang included', () => {
  const path = join(dir, 'state.json');
  saveFuzzState(path, state);
  expect(loadFuzzState(path)).toEqual(state);
});

it('refuses a file that is not a fuzz state, naming it', () => {
  const path = join(dir, 'other.json');
  writeFileSync(path, '{"seed": 1}');
  expect(() => loadFuzzState(path)).toThrow(InputError);
  expect(() => loadFuzzState(path)).toThrow(`${path}: not a fuzz state file`);
  writeFileSync(path, 'not json');
  expect(() => loadFuzzState(path)).toThrow(`${path}: the fuzz state is not JSON`);
});
