// The attack scenarios of samples/scenarios/: one folder each (run.sh, optional cleanup.sh,
// expected.yaml), listed from the repo and run inside the sample guest over its control channel.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RingsideError } from '../../introspect/errors.js';
import type { GuestControl } from '../guest/control.js';
import { GUEST_SCENARIO_DIR } from './build.js';
import { parseExpectedFindings, type ExpectedFindings } from './expected.js';
import { scenarioSourceDir } from './paths.js';

export interface Scenario {
  name: string;
  /** Its folder in the repo. */
  dir: string;
  hasCleanup: boolean;
  expected: ExpectedFindings;
}

export type ScenarioPhase = 'run' | 'cleanup';

export interface ScenarioResult {
  scenario: string;
  phase: ScenarioPhase;
  status: number;
  output: string;
}

/** A scenario script that failed in the guest: its name, phase, exit status and output. */
export class ScenarioError extends RingsideError {
  constructor(
    readonly scenario: string,
    readonly phase: ScenarioPhase,
    readonly status: number | undefined,
    readonly output: string,
    options?: { cause?: unknown },
  ) {
    const how = status === undefined ? 'did not finish' : `exited with status ${status}`;
    super(
      'BACKEND',
      `scenario ${scenario}: ${phase === 'run' ? 'run.sh' : 'cleanup.sh'} ${how}${output ? `:\n${output.trimEnd()}` : ''}`,
      options,
    );
  }
}

/** Scenario folders are those holding a run.sh; each must have an expected.yaml. */
export function listScenarios(source = scenarioSourceDir()): Scenario[] {
  const scenarios: Scenario[] = [];
  for (const entry of readdirSync(source, { withFileTypes: true })) {
    const dir = join(source, entry.name);
    if (!entry.isDirectory() || !existsSync(join(dir, 'run.sh'))) continue;
    const expectedFile = join(dir, 'expected.yaml');
    if (!existsSync(expectedFile)) {
      throw new RingsideError('NOT_FOUND', `scenario ${entry.name}: ${expectedFile} is missing`);
    }
    scenarios.push({
      name: entry.name,
      dir,
      hasCleanup: existsSync(join(dir, 'cleanup.sh')),
      expected: parseExpectedFindings(readFileSync(expectedFile, 'utf8'), expectedFile),
    });
  }
  return scenarios.sort((a, b) => a.name.localeCompare(b.name));
}

/** The guest command that runs one phase of a scenario. */
export const scenarioCommand = (name: string, phase: ScenarioPhase): string =>
  `sh ${GUEST_SCENARIO_DIR}/${name}/${phase === 'run' ? 'run.sh' : 'cleanup.sh'}`;

/**
 * Runs run.sh or cleanup.sh of a scenario inside the guest and returns its output and status; a
 * scenario without cleanup.sh has nothing to clean up. Throws a ScenarioError when it fails.
 */
export async function runScenario(
  control: GuestControl,
  name: string,
  phase: ScenarioPhase,
  options: { timeoutMs?: number; source?: string } = {},
): Promise<ScenarioResult> {
  const dir = join(options.source ?? scenarioSourceDir(), name);
  if (!existsSync(join(dir, 'run.sh'))) {
    throw new RingsideError('NOT_FOUND', `no scenario ${name} (no ${join(dir, 'run.sh')})`);
  }
  if (phase === 'cleanup' && !existsSync(join(dir, 'cleanup.sh'))) {
    return { scenario: name, phase, status: 0, output: '' };
  }
  let result;
  try {
    result = await control.run(scenarioCommand(name, phase), options.timeoutMs ?? 60_000);
  } catch (error) {
    throw new ScenarioError(name, phase, undefined, '', { cause: error });
  }
  if (result.status !== 0) throw new ScenarioError(name, phase, result.status, result.output);
  return { scenario: name, phase, ...result };
}
