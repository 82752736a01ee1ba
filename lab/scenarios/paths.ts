// Where the attack scenarios' sources are in the repo (from the TypeScript sources and from dist/).
import { join } from 'node:path';
import { guestSourceDir } from '../guest/paths.js';

export const scenarioSourceDir = (): string => join(guestSourceDir(), '..', 'scenarios');

/** The starter rules (samples/rules). */
export const sampleRulesDir = (): string => join(guestSourceDir(), '..', 'rules');
