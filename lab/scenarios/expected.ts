// Reads a scenario's expected.yaml: the findings Ringside should report, by rule id with optional key
// fields, live (while run.sh and cleanup.sh run) and on a snapshot taken after run.sh.
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Node } from 'yaml';
import { InputError } from '../../introspect/errors.js';

export type FieldValue = string | number | boolean;

export interface ExpectedFinding {
  /** A rule id of samples/rules/ (e.g. lnx-hidden-process). */
  rule: string;
  /** Event fields the finding must carry, with their values (e.g. module.name: ringside_test). */
  fields: Record<string, FieldValue>;
}

export interface ExpectedFindings {
  live: ExpectedFinding[];
  snapshot: ExpectedFinding[];
}

export const EXPECTATION_PHASES = ['live', 'snapshot'] as const;

const RULE_ID = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const FIELD_NAME = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$/;

/** Parses the text of an expected.yaml; errors name the file, line and column. */
export function parseExpectedFindings(text: string, file: string): ExpectedFindings {
  const lines = new LineCounter();
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const fail = (message: string, node?: Node | null): never => {
    const offset = node?.range?.[0];
    if (offset === undefined) throw new InputError(message, file);
    const { line, col } = lines.linePos(offset);
    throw new InputError(`${line}:${col}: ${message}`, file, { offset });
  };
  const syntaxError = document.errors[0];
  if (syntaxError) {
    const { line, col } = lines.linePos(syntaxError.pos[0]);
    throw new InputError(`${line}:${col}: ${syntaxError.message}`, file, {
      offset: syntaxError.pos[0],
    });
  }
  const root = document.contents;
  if (!isMap(root)) {
    return fail('expected a mapping with the keys live and snapshot', root);
  }
  const expected: ExpectedFindings = { live: [], snapshot: [] };
  const seen = new Set<string>();
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? pair.key.value : undefined;
    if (key !== 'live' && key !== 'snapshot') {
      return fail(`unknown key ${String(key)} (expected live and snapshot)`, pair.key as Node);
    }
    seen.add(key);
    const list = pair.value as Node | null;
    if (list === null || (isScalar(list) && list.value === null)) continue;
    if (!isSeq(list)) return fail(`${key} must be a list of findings`, list);
    for (const item of list.items as Node[]) {
      expected[key].push(parseFinding(item, fail));
    }
  }
  for (const phase of EXPECTATION_PHASES) {
    if (!seen.has(phase))
      fail(`${phase} is missing (write "${phase}: []" when nothing is expected)`);
  }
  return expected;
}

function parseFinding(item: Node, fail: (message: string, node?: Node | null) => never) {
  if (!isMap(item)) return fail('a finding must be a mapping with rule and optional fields', item);
  let rule: string | undefined;
  const fields: Record<string, FieldValue> = {};
  for (const pair of item.items) {
    const key = isScalar(pair.key) ? pair.key.value : undefined;
    const value = pair.value as Node | null;
    if (key === 'rule') {
      if (!isScalar(value) || typeof value.value !== 'string' || !RULE_ID.test(value.value)) {
        return fail('rule must be a rule id such as lnx-hidden-process', value ?? item);
      }
      rule = value.value;
    } else if (key === 'fields') {
      if (!isMap(value)) return fail('fields must be a mapping of field names to values', value);
      for (const field of value.items) {
        const name = isScalar(field.key) ? field.key.value : undefined;
        if (typeof name !== 'string' || !FIELD_NAME.test(name)) {
          return fail(`bad field name ${String(name)}`, field.key as Node);
        }
        const fieldValue = field.value as Node | null;
        const scalar = isScalar(fieldValue) ? fieldValue.value : undefined;
        if (
          typeof scalar !== 'string' &&
          typeof scalar !== 'number' &&
          typeof scalar !== 'boolean'
        ) {
          return fail(`field ${name} must have a string, number or boolean value`, fieldValue);
        }
        fields[name] = scalar;
      }
    } else {
      return fail(
        `unknown key ${String(key)} in a finding (expected rule, fields)`,
        pair.key as Node,
      );
    }
  }
  if (rule === undefined) return fail('a finding needs a rule', item);
  return { rule, fields };
}
