// The matching core: compiled conditions indexed by event type and then by field values (equality,
// prefix, suffix), so an event is tested only against the rules that can match it. No state here.
import type { VmiEvent } from '../introspect/events/event.js';
import { fieldGetter } from './access.js';
import type { FieldGetter } from './access.js';
import type { Checked, CheckedCompare } from './check.js';
import type { Predicate } from './compile.js';
import { CompileContext, compileCondition } from './compile.js';
import type { LoadedRule, Ruleset } from './load.js';
import { requiredLiterals } from './regex-literals.js';
import { SubstringIndex, seldomFound } from './substrings.js';

/** One compiled condition: a plain rule, or one step of a correlation rule. */
export interface Matcher {
  rule: LoadedRule;
  ruleIndex: number;
  step: number;
  /** Sort key: rule order, and within a correlation rule later steps first (see Detector). */
  order: number;
  /** The whole condition, compiled (match() runs only the residual left after its index). */
  predicate: Predicate;
  /** The condition, for tools and tests. */
  condition: Checked;
  /** Stamp of the last match() that tested it through an affix index (tested once per event). */
  seen: number;
}

interface ValueGroup {
  field: string;
  get: FieldGetter;
  map: Map<unknown, Candidate[]>;
}

/** A character trie: walking a value through it finds every indexed prefix (or suffix) it has. */
interface TrieNode {
  next: Map<number, TrieNode>;
  candidates: Candidate[] | undefined;
}

interface AffixGroup {
  field: string;
  get: FieldGetter;
  /** Prefixes stored forwards, suffixes stored backwards; the walk allocates nothing. */
  root: TrieNode;
}

/** A matcher as filed in one bucket, with what remains to test there. */
interface Candidate {
  matcher: Matcher;
  test: Predicate;
}

/**
 * Rules anchored on fragments of one field (`icontains`; `contains`, regex literals and globs' runs
 * found case-insensitively and tested again), found in one case-folding pass over its value.
 */
interface SubstringGroup {
  field: string;
  get: FieldGetter;
  index: SubstringIndex<Candidate>;
}

interface Bucket {
  equal: ValueGroup[];
  prefix: AffixGroup[];
  suffix: AffixGroup[];
  substring: SubstringGroup[];
  always: Candidate[];
}

export interface EngineStats {
  matchers: number;
  /** Distinct leaf comparisons after sharing, and how many the rules named in all. */
  distinctLeaves: number;
  leaves: number;
  /** Matchers reached only through a value index (never tested on events that cannot match). */
  indexed: number;
}

function conjuncts(condition: Checked, out: Checked[] = []): Checked[] {
  if (condition.kind === 'and') for (const operand of condition.operands) conjuncts(operand, out);
  else out.push(condition);
  return out;
}

/** Event types a condition can match: undefined for any. */
function eventTypes(condition: Checked): Set<string> | undefined {
  let types: Set<string> | undefined;
  for (const part of conjuncts(condition)) {
    if (
      part.kind !== 'compare' ||
      part.field !== 'type' ||
      (part.operator !== '=' && part.operator !== 'in')
    )
      continue;
    const these = new Set(part.values as string[]);
    types = types === undefined ? these : new Set([...types].filter((type) => these.has(type)));
  }
  return types;
}

const EQUAL_TYPES = new Set(['string', 'number', 'address', 'boolean']);

/**
 * How a rule can be found from an event's value. `source` is the conjunct it comes from; when
 * `exact`, finding the rule through the anchor proves that conjunct, so it is not tested again.
 * A glob gives an inexact anchor (its literal prefix, suffix or longest literal run).
 */
type Anchor = {
  kind: 'equal' | 'prefix' | 'suffix' | 'icontains';
  field: string;
  values: unknown[];
  source: CheckedCompare;
  exact: boolean;
};

/**
 * The literal runs of a glob, split where `globToRegExp` puts a wildcard (`*`, `?`, or a `[…]`
 * class; a `[` with no `]` two or more characters on is a literal there too).
 */
function globLiterals(glob: string): string[] {
  const parts: string[] = [''];
  for (let index = 0; index < glob.length; index += 1) {
    const char = glob[index]!;
    const close = char === '[' ? glob.indexOf(']', index + 2) : -1;
    if (char === '*' || char === '?' || close >= 0) {
      parts.push('');
      if (close >= 0) index = close;
    } else parts[parts.length - 1] += char;
  }
  return parts;
}

/** A literal every match of the glob must start with, end with, or contain. */
function globHint(
  glob: string,
): { kind: 'prefix' | 'suffix' | 'contains'; text: string } | undefined {
  const parts = globLiterals(glob);
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (first !== '') return { kind: 'prefix', text: first };
  if (last !== '') return { kind: 'suffix', text: last };
  const longest = parts.reduce((best, part) => (part.length > best.length ? part : best), '');
  return longest === '' ? undefined : { kind: 'contains', text: longest };
}

/** The anchors one comparison gives (none for operators no index serves). */
function compareAnchors(part: CheckedCompare, exact: boolean): Anchor[] {
  const anchor = (kind: Anchor['kind'], values: unknown[], isExact: boolean): Anchor[] => [
    { kind, field: part.field, values, source: part, exact: exact && isExact },
  ];
  if (part.field === 'type') return [];
  if ((part.operator === '=' || part.operator === 'in') && EQUAL_TYPES.has(part.type))
    return anchor('equal', part.values, true);
  if (part.type !== 'string') return [];
  if (part.operator === 'startswith') return anchor('prefix', part.values, true);
  if (part.operator === 'endswith') return anchor('suffix', part.values, true);
  if (part.operator === 'icontains') return anchor('icontains', part.values, true);
  // Case-sensitive fragments share the one case-folding scan of the field (a second scan would cost
  // as much again); found there, the exact `contains` is tested again.
  if (part.operator === 'contains') return anchor('icontains', part.values, false);
  if (part.operator === 'regex') {
    // A regex is found through literals every match of it contains, then run (RE2) on those only.
    const literals = (part.values as string[]).map((source) => requiredLiterals(source));
    if (literals.every((set) => set !== undefined))
      return anchor('icontains', literals.flat(), false);
    return [];
  }
  if (part.operator === 'glob') {
    // Every pattern of the set must give the same kind of hint for one index to cover them all.
    const hints = (part.values as string[]).map(globHint);
    const kind = hints[0]?.kind;
    if (kind !== undefined && hints.every((hint) => hint?.kind === kind))
      return anchor(
        kind === 'contains' ? 'icontains' : kind,
        hints.map((hint) => hint!.text),
        false,
      );
  }
  return [];
}

/** How deep in nested `or`/`and` an anchor is looked for ("any of these" inside "all of these"). */
const ANCHOR_DEPTH = 6;

/**
 * Ways to find a rule from an event's values. Each choice is a list of anchors to file the rule
 * under: one for a conjunct (`a = 1 and …`), one per operand for a disjunction whose every operand
 * has one (`(a endswith x or b contains y) and …`), found then tested again (inexact).
 */
function anchorChoices(condition: Checked, depth = 0): Anchor[][] {
  const choices: Anchor[][] = [];
  for (const part of conjuncts(condition)) {
    if (part.kind === 'compare')
      for (const anchor of compareAnchors(part, depth === 0)) choices.push([anchor]);
    else if (part.kind === 'or' && depth < ANCHOR_DEPTH) {
      const each: Anchor[] = [];
      for (const operand of part.operands) {
        const options =
          operand.kind === 'compare'
            ? compareAnchors(operand, false).map((anchor) => [anchor])
            : anchorChoices(operand, depth + 1);
        // The narrowest way in for this operand: the one with the fewest anchors.
        const best = options.sort((a, b) => a.length - b.length)[0];
        if (best === undefined) {
          each.length = 0;
          break;
        }
        each.push(...best.map((anchor) => ({ ...anchor, exact: false })));
      }
      if (each.length > 0) choices.push(each);
    }
  }
  return choices;
}

function push<K>(map: Map<K, Candidate[]>, key: K, candidate: Candidate): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [candidate]);
  else if (!list.includes(candidate)) list.push(candidate);
}

const ALWAYS: Predicate = () => true;

/**
 * What is left to test once a matcher is reached through its bucket and anchor: the event type and
 * the anchor conjunct are already known to hold there, so only the other conjuncts are compiled.
 */
function residual(
  matcher: Matcher,
  choice: Anchor[] | undefined,
  context: CompileContext,
): Predicate {
  const anchor = choice?.length === 1 ? choice[0] : undefined;
  const rest = conjuncts(matcher.condition).filter(
    (part) =>
      !(anchor?.exact === true && part === anchor.source) &&
      !(
        part.kind === 'compare' &&
        part.field === 'type' &&
        (part.operator === '=' || part.operator === 'in')
      ),
  );
  if (rest.length === 0) return ALWAYS;
  const tests = rest.map((part) => compileCondition(part, context));
  if (tests.length === 1) return tests[0]!;
  if (tests.length === 2) {
    const [first, second] = tests as [Predicate, Predicate];
    return (event) => first(event) && second(event);
  }
  return (event) => {
    for (const test of tests) if (!test(event)) return false;
    return true;
  };
}

/**
 * Picks, for each matcher, the conjunct to index it by: the one whose index sends the fewest rules
 * per looked-up value (rules anchored on that field / distinct values among them), so that a field
 * with few values (vmi.access = x) does not gather every rule under one key.
 */
const SCAN_COST = 20;

function chooseAnchors(matchers: Matcher[]): Map<Matcher, Anchor[] | undefined> {
  const usage = new Map<string, { rules: number; values: Set<unknown> }>();
  const candidates = new Map<Matcher, Anchor[][]>();
  for (const matcher of matchers) {
    const choices = anchorChoices(matcher.condition);
    candidates.set(matcher, choices);
    for (const choice of choices)
      for (const anchor of choice) {
        const name = `${anchor.kind}:${anchor.field}`;
        const entry = usage.get(name) ?? { rules: 0, values: new Set() };
        entry.rules += 1;
        for (const value of anchor.values) entry.values.add(value);
        usage.set(name, entry);
      }
  }
  // Fields some matcher can only be found through by scanning: that scan runs on every event of the
  // bucket anyway, so filing more patterns in it costs next to nothing.
  const scanned = new Set<string>();
  for (const choices of candidates.values())
    if (
      choices.length > 0 &&
      choices.every((choice) => choice.every((a) => a.kind === 'icontains'))
    )
      for (const choice of choices) for (const anchor of choice) scanned.add(anchor.field);
  const rank = { equal: 0, prefix: 1, suffix: 2, icontains: 3 };
  const cost = (anchor: Anchor): number => {
    const entry = usage.get(`${anchor.kind}:${anchor.field}`)!;
    // A substring index costs a pass over the value on every event, about as much as testing
    // SCAN_COST candidate rules: it wins over a value index only when that one is crowded, or
    // when the pass is made anyway and the patterns are seldom found (a common one, ` -c `, would
    // have its rules tested on most events).
    const free =
      scanned.has(anchor.field) && anchor.values.every((value) => seldomFound(value as string));
    const scan = anchor.kind === 'icontains' && !free ? SCAN_COST : 0;
    return entry.rules / Math.max(1, entry.values.size) + scan;
  };
  const total = (choice: Anchor[]): number => choice.reduce((sum, anchor) => sum + cost(anchor), 0);
  const chosen = new Map<Matcher, Anchor[] | undefined>();
  for (const [matcher, choices] of candidates)
    chosen.set(
      matcher,
      choices.sort(
        (a, b) => total(a) - total(b) || rank[a[0]!.kind] - rank[b[0]!.kind] || a.length - b.length,
      )[0],
    );
  return chosen;
}

function buildBucket(matchers: Matcher[], context: CompileContext): Bucket {
  const bucket: Bucket = { equal: [], prefix: [], suffix: [], substring: [], always: [] };
  const anchors = chooseAnchors(matchers);
  const equals = new Map<string, ValueGroup>();
  const affixes = new Map<string, AffixGroup>();
  const substrings = new Map<string, SubstringGroup>();
  const file = (anchor: Anchor, candidate: Candidate): void => {
    const name = `${anchor.kind}:${anchor.field}`;
    const field = anchor.field;
    if (anchor.kind === 'icontains') {
      let group = substrings.get(name);
      if (group === undefined) {
        group = { field, get: fieldGetter(field), index: new SubstringIndex(true) };
        substrings.set(name, group);
        bucket.substring.push(group);
      }
      for (const value of anchor.values) group.index.add(value as string, candidate);
      return;
    }
    if (anchor.kind === 'equal') {
      let group = equals.get(name);
      if (group === undefined) {
        group = { field, get: fieldGetter(field), map: new Map() };
        equals.set(name, group);
        bucket.equal.push(group);
      }
      for (const value of anchor.values) push(group.map, value, candidate);
      return;
    }
    let group = affixes.get(name);
    if (group === undefined) {
      group = { field, get: fieldGetter(field), root: { next: new Map(), candidates: undefined } };
      affixes.set(name, group);
      bucket[anchor.kind].push(group);
    }
    for (const value of anchor.values) {
      const text = value as string;
      let node = group.root;
      for (let step = 0; step < text.length; step += 1) {
        const code = text.charCodeAt(anchor.kind === 'prefix' ? step : text.length - 1 - step);
        let child = node.next.get(code);
        if (child === undefined) {
          child = { next: new Map(), candidates: undefined };
          node.next.set(code, child);
        }
        node = child;
      }
      node.candidates ??= [];
      if (!node.candidates.includes(candidate)) node.candidates.push(candidate);
    }
  };
  for (const matcher of matchers) {
    const choice = anchors.get(matcher);
    if (choice === undefined) {
      bucket.always.push({ matcher, test: residual(matcher, undefined, context) });
      continue;
    }
    const candidate: Candidate = { matcher, test: residual(matcher, choice, context) };
    // `in ()` with an empty list files nothing: it can never match.
    for (const anchor of choice) file(anchor, candidate);
  }
  for (const group of bucket.substring) group.index.build();
  return bucket;
}

export class RuleEngine {
  readonly matchers: Matcher[] = [];
  private readonly buckets = new Map<string, Bucket>();
  private readonly anyType: Bucket;
  private stamp = 0;
  readonly stats: EngineStats;

  constructor(ruleset: Ruleset) {
    const context = new CompileContext();
    ruleset.rules.forEach((rule, ruleIndex) => {
      if (!rule.enabled) return;
      const steps =
        rule.correlation?.steps ??
        (rule.condition === undefined ? [] : [{ name: rule.name, condition: rule.condition }]);
      steps.forEach((step, index) => {
        this.matchers.push({
          rule,
          ruleIndex,
          step: index,
          order: ruleIndex * 1024 + (1023 - index),
          predicate: compileCondition(step.condition, context),
          condition: step.condition,
          seen: 0,
        });
      });
    });
    const leavesNamed = context.requested;
    const byType = new Map<string, Matcher[]>();
    const wildcard: Matcher[] = [];
    for (const matcher of this.matchers) {
      const types = eventTypes(matcher.condition);
      if (types === undefined) wildcard.push(matcher);
      else for (const type of types) byType.set(type, [...(byType.get(type) ?? []), matcher]);
    }
    for (const [type, matchers] of byType)
      this.buckets.set(type, buildBucket([...matchers, ...wildcard], context));
    this.anyType = buildBucket(wildcard, context);
    const everyBucket = [...this.buckets.values(), this.anyType];
    const always = new Set(everyBucket.flatMap((bucket) => bucket.always.map((c) => c.matcher)));
    this.stats = {
      matchers: this.matchers.length,
      distinctLeaves: context.leaves.size,
      leaves: leavesNamed,
      indexed: this.matchers.filter((matcher) => !always.has(matcher)).length,
    };
  }

  // The substring scan reports through one callback made once, reading the event from here.
  private scanEvent: VmiEvent | undefined;
  private scanHits: Matcher[] | undefined;
  private readonly visitScan = (candidates: Candidate[]): void =>
    this.testOnce(candidates, this.scanEvent!, this.scanHits!);

  private testOnce(candidates: Candidate[], event: VmiEvent, hits: Matcher[]): void {
    for (const { matcher, test } of candidates) {
      if (matcher.seen === this.stamp) continue;
      matcher.seen = this.stamp;
      if (test(event)) hits.push(matcher);
    }
  }

  /**
   * Appends to `hits` the matchers whose condition holds for the event, sorted by `order`; returns
   * how many. `hits` is the caller's array, reused from event to event to spare allocations.
   */
  match(event: VmiEvent, hits: Matcher[]): number {
    const start = hits.length;
    this.stamp += 1;
    const bucket = this.buckets.get(event.type) ?? this.anyType;
    for (const group of bucket.equal) {
      const value = group.get(event);
      if (value === undefined) continue;
      const candidates = group.map.get(value);
      if (candidates !== undefined) this.testOnce(candidates, event, hits);
    }
    for (const group of bucket.prefix) {
      const value = group.get(event);
      if (typeof value !== 'string') continue;
      let node: TrieNode | undefined = group.root;
      if (node.candidates !== undefined) this.testOnce(node.candidates, event, hits);
      for (let index = 0; index < value.length; index += 1) {
        node = node.next.get(value.charCodeAt(index));
        if (node === undefined) break;
        if (node.candidates !== undefined) this.testOnce(node.candidates, event, hits);
      }
    }
    for (const group of bucket.suffix) {
      const value = group.get(event);
      if (typeof value !== 'string') continue;
      let node: TrieNode | undefined = group.root;
      if (node.candidates !== undefined) this.testOnce(node.candidates, event, hits);
      for (let index = value.length - 1; index >= 0; index -= 1) {
        node = node.next.get(value.charCodeAt(index));
        if (node === undefined) break;
        if (node.candidates !== undefined) this.testOnce(node.candidates, event, hits);
      }
    }
    if (bucket.substring.length > 0) {
      this.scanEvent = event;
      this.scanHits = hits;
      for (const group of bucket.substring) {
        const value = group.get(event);
        if (typeof value !== 'string') continue;
        group.index.scan(value, this.visitScan);
      }
      this.scanEvent = undefined;
      this.scanHits = undefined;
    }
    for (const candidate of bucket.always) if (candidate.test(event)) hits.push(candidate.matcher);
    const found = hits.length - start;
    if (found > 1) {
      const sorted = hits.splice(start, found).sort((a, b) => a.order - b.order);
      hits.push(...sorted);
    }
    return found;
  }
}
