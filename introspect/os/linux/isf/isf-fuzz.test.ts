import fc from 'fast-check';
import { isRingsideError } from '../../../errors.js';
import { readIsf } from './read-isf.js';
import { buildIsf } from './write-isf.js';
import { BANNER, SLIDE, sample, symbols } from './test-support/sample-types.js';

/** A value somewhere in a JSON tree, by path, replaced. */
function replaceAt(document: unknown, path: number[], value: unknown): unknown {
  if (path.length === 0 || typeof document !== 'object' || document === null) return value;
  const keys = Object.keys(document);
  if (keys.length === 0) return value;
  const key = keys[path[0]! % keys.length]!;
  const copy = (Array.isArray(document) ? [...document] : { ...document }) as Record<
    string,
    unknown
  >;
  copy[key] = replaceAt(copy[key], path.slice(1), value);
  return copy;
}

describe('readIsf on corrupted documents (property-based)', () => {
  const original = JSON.parse(
    JSON.stringify(
      buildIsf({ types: sample(), symbols, banner: BANNER, slide: SLIDE }),
      (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v),
    ),
  ) as unknown;

  it('gives a profile or a Ringside error, never a crash', () => {
    const junk = fc.oneof(
      fc.constant(null),
      fc.constant({}),
      fc.constant([]),
      fc.string(),
      fc.integer({ min: -10, max: 1 << 30 }),
      fc.double(),
      fc.boolean(),
      fc.constant({ kind: 'pointer' }),
      fc.constant({ kind: 'array', count: -1, subtype: { kind: 'base', name: 'int' } }),
      fc.constant({ kind: 'bitfield', type: null }),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.array(fc.nat(), { minLength: 1, maxLength: 7 }), junk), {
          minLength: 1,
          maxLength: 4,
        }),
        (patches) => {
          let document = original;
          for (const [path, value] of patches) document = replaceAt(document, path, value);
          try {
            const profile = readIsf(document, { source: 'fuzzed.json' });
            for (const struct of ['task_struct', 'cred', 'holder', 'list_head', 'kuid_t']) {
              for (const path of [
                'tasks',
                'uid.val',
                'rcu_users',
                'in_iowait',
                'comm[2]',
                'next',
              ]) {
                const found = profile.types.field(struct, path);
                if (found !== undefined) profile.types.sizeOf(found.type);
              }
            }
            for (const id of profile.types.ids()) profile.types.get(id);
            profile.symbolType('init_task');
          } catch (error) {
            if (!isRingsideError(error)) throw error;
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
