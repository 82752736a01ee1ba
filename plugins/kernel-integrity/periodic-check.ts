// The periodic check of a live guest: every syscall entry and IDT gate against the baseline taken
// when monitoring began, read while the guest runs and confirmed paused when something looks wrong;
// a violation is reported once while it stands (and again if it comes back after being undone).
import type { Domain } from '../../introspect/domain/types.js';
import type { VmiEvent } from '../../introspect/events/event.js';
import {
  checkIntegrity,
  type IntegrityBaseline,
  type IntegrityViolation,
} from '../../introspect/os/linux/integrity.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { readConfirmed } from '../guest-context.js';
import { violationEvent } from './evidence.js';

const key = (violation: IntegrityViolation): string => `${violation.symbol}=${violation.new_value}`;

/** A check function for periodicEvents; it remembers what it reported between rounds. */
export function integrityCheck(
  domain: Domain,
  kernel: LinuxKernel,
  baseline: IntegrityBaseline,
): () => Promise<VmiEvent[]> {
  // A trapped write never silences the check: the trap's kernel.write may be matched by no rule,
  // and the check judges state, not writes.
  let reported = new Set<string>();
  return async () => {
    const standing = await readConfirmed(
      domain,
      kernel,
      () => checkIntegrity(kernel, [], baseline),
      (found) => found.some((violation) => !reported.has(key(violation))),
    );
    const fresh = standing.filter((violation) => !reported.has(key(violation)));
    reported = new Set(standing.map(key));
    const base = {
      domain: domain.name,
      time: performance.now(),
      timestamp: new Date().toISOString(),
    };
    const events: VmiEvent[] = [];
    for (const violation of fresh) events.push(await violationEvent(kernel, violation, base));
    return events;
  };
}
