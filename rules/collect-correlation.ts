// The correlation blocks of a rule read from YAML: `sequence` (ordered steps with their own keys) and
// `threshold` (a count within a window). Values stay located; the loader checks and types them.
import { isMap, isScalar, isSeq } from 'yaml';
import type { Node } from 'yaml';
import type { SourceText } from './source.js';
import type { Location } from './types.js';
import type { Located, YamlReader } from './yaml-reader.js';

export interface RawCorrelation {
  kind: 'sequence' | 'threshold';
  by: Located<string>[];
  within: Located<unknown> | undefined;
  count: Located<unknown> | undefined;
  maxKeys: Located<unknown> | undefined;
  steps: {
    name: string;
    condition: SourceText | undefined;
    /** This step's own key fields (one per `by` field of the sequence), if it has them. */
    by: Located<string>[] | undefined;
    at: Location;
  }[];
  at: Location;
}

const STEP_KEYS = new Set(['name', 'condition', 'by']);

export function collectCorrelation(
  reader: YamlReader,
  kind: 'sequence' | 'threshold',
  node: Node | null,
): RawCorrelation | undefined {
  if (!isMap(node)) {
    reader.bag.error('BAD_VALUE', `'${kind}' must be a mapping`, reader.at(node));
    return undefined;
  }
  const entries = reader.entries(node);
  const allowed =
    kind === 'sequence'
      ? ['by', 'within', 'steps', 'max_keys']
      : ['by', 'within', 'count', 'max_keys'];
  reader.checkKeys(entries, new Set(allowed), `a ${kind}`);
  const located = (key: string): Located<unknown> | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    return {
      value: isScalar(entry.value) ? entry.value.value : undefined,
      at: reader.at(entry.value),
    };
  };
  const steps: RawCorrelation['steps'] = [];
  if (kind === 'sequence') {
    const stepsNode = entries.get('steps')?.value;
    if (!isSeq(stepsNode))
      reader.bag.error(
        'MISSING_KEY',
        "a sequence needs 'steps', a list of conditions",
        reader.at(node),
      );
    else
      (stepsNode.items as Node[]).forEach((step, index) => {
        if (isScalar(step)) {
          steps.push({
            name: `step ${index + 1}`,
            condition: reader.source(step, 'condition'),
            by: undefined,
            at: reader.at(step),
          });
          return;
        }
        if (!isMap(step)) {
          reader.bag.error(
            'BAD_VALUE',
            'a step is a condition or a mapping with name and condition',
            reader.at(step),
          );
          return;
        }
        const stepEntries = reader.entries(step);
        reader.checkKeys(stepEntries, STEP_KEYS, 'a step');
        const stepBy = stepEntries.get('by');
        const condition = stepEntries.get('condition');
        if (condition === undefined)
          reader.bag.error('MISSING_KEY', "a step needs a 'condition'", reader.at(step));
        steps.push({
          name:
            (stepEntries.has('name')
              ? reader.string(stepEntries.get('name')!.value, 'name')?.value
              : undefined) ?? `step ${index + 1}`,
          condition:
            condition === undefined ? undefined : reader.source(condition.value, 'condition'),
          by: stepBy === undefined ? undefined : reader.stringList(stepBy.value, 'by'),
          at: reader.at(step),
        });
      });
  }
  const byNode = entries.get('by');
  return {
    kind,
    by: byNode === undefined ? [] : reader.stringList(byNode.value, 'by'),
    within: located('within'),
    count: located('count'),
    maxKeys: located('max_keys'),
    steps,
    at: reader.at(node),
  };
}
