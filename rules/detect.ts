// The rule engine as an RxJS operator: `events$.pipe(detect(ruleset))` emits a Finding for each rule
// that fires. Each subscription gets its own correlation state; errors and completion pass through.
import { Observable } from 'rxjs';
import type { OperatorFunction } from 'rxjs';
import type { VmiEvent } from '../introspect/events/event.js';
import type { Finding } from '../introspect/events/finding.js';
import { Detector } from './detector.js';
import type { DetectorOptions, DetectorStats } from './detector.js';
import { RuleEngine } from './engine.js';
import type { Ruleset } from './load.js';

export interface DetectOptions extends DetectorOptions {
  /** Called with the detector's figures (events, findings, correlation keys and evictions) when the stream ends, errors or is unsubscribed. */
  onStats?: (stats: DetectorStats) => void;
}

export function detect(
  ruleset: Ruleset | RuleEngine,
  options: DetectOptions = {},
): OperatorFunction<VmiEvent, Finding> {
  // Compile once per operator, keep correlation state per subscription.
  const engine = ruleset instanceof RuleEngine ? ruleset : new RuleEngine(ruleset);
  return (source) =>
    new Observable<Finding>((subscriber) => {
      const detector = new Detector(engine, options);
      const emit = (finding: Finding): void => subscriber.next(finding);
      const subscription = source.subscribe({
        next(event) {
          try {
            detector.process(event, emit);
          } catch (error) {
            // A rule engine bug must end the stream visibly, not vanish into RxJS's unhandled errors.
            subscriber.error(error);
          }
        },
        error(error: unknown) {
          subscriber.error(error);
        },
        complete() {
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        options.onStats?.(detector.stats());
      };
    });
}
