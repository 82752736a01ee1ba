// The stateful side of detection for one stream: runs the engine on each event, feeds correlation
// rules their state and builds findings. `detect()` wraps one of these per subscription.
import type { VmiEvent } from '../introspect/events/event.js';
import type { Finding } from '../introspect/events/finding.js';
import type { CorrelationStats } from './correlation.js';
import { CorrelationState } from './correlation.js';
import type { EngineStats, Matcher } from './engine.js';
import { RuleEngine } from './engine.js';
import { buildFinding } from './findings.js';
import type { LoadedRule, Ruleset } from './load.js';

export interface DetectorOptions {
  /** Wall clock for findings whose event has no timestamp (default: Date). */
  now?: () => Date;
}

export interface DetectorStats {
  events: number;
  findings: number;
  engine: EngineStats;
  /** Per correlation rule id. */
  correlation: Record<string, CorrelationStats>;
}

export class Detector {
  readonly engine: RuleEngine;
  private readonly states = new Map<LoadedRule, CorrelationState>();
  private readonly hits: Matcher[] = [];
  private readonly now: () => Date;
  private events = 0;
  private findings = 0;

  /** Builds the engine; pass an engine to share one compiled ruleset between streams. */
  constructor(ruleset: Ruleset | RuleEngine, options: DetectorOptions = {}) {
    this.engine = ruleset instanceof RuleEngine ? ruleset : new RuleEngine(ruleset);
    this.now = options.now ?? (() => new Date());
    for (const matcher of this.engine.matchers)
      if (matcher.rule.correlation !== undefined && !this.states.has(matcher.rule))
        this.states.set(matcher.rule, new CorrelationState(matcher.rule.correlation));
  }

  /** Runs one event; calls `emit` for each finding, in rule order. */
  process(event: VmiEvent, emit: (finding: Finding) => void): void {
    this.events += 1;
    const hits = this.hits;
    const found = this.engine.match(event, hits);
    if (found === 0) return;
    try {
      for (const matcher of hits) {
        const rule = matcher.rule;
        const state = this.states.get(rule);
        if (state === undefined) {
          this.findings += 1;
          emit(buildFinding(rule, [event], { now: this.now }));
          continue;
        }
        const events = state.advance(event, matcher.step);
        if (events === undefined) continue;
        this.findings += 1;
        const correlation = rule.correlation!;
        emit(
          buildFinding(rule, events, {
            now: this.now,
            evidence: {
              correlation: {
                kind: correlation.kind,
                key: state.keyOf(event, matcher.step),
                within_ms: correlation.within,
                ...(correlation.kind === 'threshold'
                  ? { count: correlation.count }
                  : { steps: correlation.steps.map((step) => step.name) }),
              },
            },
          }),
        );
      }
    } finally {
      hits.length = 0;
    }
  }

  stats(): DetectorStats {
    const correlation: Record<string, CorrelationStats> = {};
    for (const [rule, state] of this.states) correlation[rule.id] = state.stats();
    return { events: this.events, findings: this.findings, engine: this.engine.stats, correlation };
  }
}
