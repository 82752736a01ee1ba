// Checks the ISF reader, and the writer's likeness to dwarf2json, against the real ISF of the
// Debian 6.1 cloud kernel in /work/shared/anchors, when it is there.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseBtf } from '../btf/btf-type-table.js';
import { checkIsf } from './check-isf.js';
import type { IsfDocument } from './isf-format.js';
import { parseIsfJson } from './isf-json.js';
import { readIsf } from './read-isf.js';
import { buildIsf } from './write-isf.js';

const ANCHOR = '/work/shared/anchors/linux-6.1.0-56-cloud-amd64.dwarf2json.json.xz';
/** Raw .BTF of the same kernel build (objcopy --only-section=.BTF of its vmlinux), if given. */
const BTF = process.env['RINGSIDE_TEST_BTF_6_1'];
const present = existsSync(ANCHOR);
if (!present) console.warn(`${ANCHOR} is absent: the anchor ISF tests are skipped`);

(present ? describe : describe.skip)('the dwarf2json ISF of Debian 6.1.0-56-cloud-amd64', () => {
  let document: IsfDocument;
  beforeAll(() => {
    const directory = mkdtempSync(join(tmpdir(), 'ringside-isf-'));
    try {
      const text = execFileSync('xz', ['-dc', ANCHOR], {
        cwd: directory,
        maxBuffer: 256 * 1024 * 1024,
        encoding: 'utf8',
      });
      document = parseIsfJson(text, ANCHOR) as IsfDocument;
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  }, 60_000);

  it('reads into a profile with the offsets dwarf2json recorded', () => {
    const profile = readIsf(document, { source: ANCHOR, slide: 0x2000000n });
    const { types } = profile;
    expect(types.field('task_struct', 'tasks')?.offset).toBe(2192);
    expect(types.field('task_struct', 'pid')?.offset).toBe(2416);
    expect(types.field('task_struct', 'comm')?.offset).toBe(2976);
    expect(types.field('task_struct', 'cred')?.offset).toBe(2960);
    expect(types.field('task_struct', 'rcu_users')?.offset).toBe(4968); // in an anonymous union
    expect(types.field('task_struct', 'in_execve')).toMatchObject({ offset: 2344, bitSize: 1 });
    expect(types.field('cred', 'uid.val')?.offset).toBe(8);
    expect(types.field('list_head', 'prev')?.offset).toBe(8);
    expect(types.sizeOf(types.findStruct('task_struct')!)).toBe(9728);
    expect(profile.banner).toMatch(/^Linux version 6\.1\.0-56-cloud-amd64 /);
    expect(profile.symbols.address('init_task')).toBe(18446744071606217280n + 0x2000000n);
    expect(types.get(profile.symbolType('init_task')!)).toMatchObject({ name: 'task_struct' });
  });

  it('passes the structure check the writer is held to', () => {
    expect(checkIsf(document)).toEqual([]);
  });

  (BTF !== undefined && existsSync(BTF) ? it : it.skip)(
    'is what the writer makes from the same kernel’s BTF, up to what BTF cannot say',
    () => {
      const types = parseBtf(readFileSync(BTF!));
      const profile = readIsf(document);
      const written = buildIsf({ types, symbols: profile.symbols, banner: profile.banner });
      expect(checkIsf(written)).toEqual([]);
      const theirs = Object.keys(document.user_types);
      const same = theirs.filter(
        (name) => canonical(written.user_types[name]) === canonical(document.user_types[name]),
      );
      // BTF flattens multi-dimensional arrays and keeps one of two same-named structs.
      expect(same.length / theirs.length).toBeGreaterThan(0.99);
      for (const name of ['task_struct', 'cred', 'module', 'mm_struct', 'kuid_t', 'spinlock_t']) {
        expect(written.user_types[name]).toEqual(document.user_types[name]);
      }
      expect(written.enums['pid_type']).toEqual(document.enums['pid_type']);
      expect(canonical(written.symbols['init_task'])).toBe(
        canonical(document.symbols['init_task']),
      );
    },
  );
});

/** JSON with object keys sorted, to compare documents whatever order their keys came in. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    typeof inner === 'object' && inner !== null && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : typeof inner === 'bigint'
        ? inner.toString()
        : inner,
  );
}
