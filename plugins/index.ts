// The Linux detectors, by the short name a user picks them with (`--plugins exec,module`), and one
// call that starts a set of them on a domain as one stream of semantic events.
import { merge, type Observable } from 'rxjs';
import { RingsideError } from '../introspect/errors.js';
import type { VmiEvent } from '../introspect/events/event.js';
import { credMonitor } from './cred-monitor/index.js';
import { execMonitor } from './exec-monitor/index.js';
import { hiddenProcess } from './hidden-process/index.js';
import { kernelIntegrity } from './kernel-integrity/index.js';
import { moduleMonitor } from './module-monitor/index.js';
import { networkMonitor } from './network-monitor/index.js';
import { processExit } from './process-exit/index.js';
import { DETECTOR_NAMES, type DetectorName } from './names.js';
import type { DetectorPlugin, PluginContext } from './types.js';

export const DETECTORS: Readonly<Record<DetectorName, DetectorPlugin>> = {
  exec: execMonitor,
  exit: processExit,
  cred: credMonitor,
  module: moduleMonitor,
  network: networkMonitor,
  integrity: kernelIntegrity,
  hidden: hiddenProcess,
};

export { DETECTOR_NAMES };

/** Looks detectors up by name; an unknown name is an error that lists the known ones. */
export function chooseDetectors(names: readonly string[]): DetectorPlugin[] {
  const known = (name: string): name is DetectorName =>
    (DETECTOR_NAMES as readonly string[]).includes(name);
  const unknown = names.filter((name) => !known(name));
  if (unknown.length)
    throw new RingsideError(
      'BAD_INPUT',
      `unknown plugin(s): ${unknown.join(', ')} (known: ${DETECTOR_NAMES.join(', ')})`,
    );
  return names.filter(known).map((name) => DETECTORS[name]);
}

/**
 * Starts the detectors (each checks its needs first, so a missing capability fails here, before
 * any hook is planted) and merges their events.
 */
export function startDetectors(
  plugins: readonly DetectorPlugin[],
  context: PluginContext,
): Observable<VmiEvent> {
  return merge(...plugins.map((plugin) => plugin.start(context)));
}
