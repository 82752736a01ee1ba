// Finds and reads rule files: a file, or a folder walked recursively in name order. Test files
// (`*.tests.yaml`) sit beside rules and are left to the test runner.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../introspect/errors.js';
import type { RuleFile } from './collect.js';
import type { LoadResult } from './load.js';
import { loadRuleFiles } from './load.js';

const RULE_FILE = /\.ya?ml$/;
const TEST_FILE = /\.tests\.ya?ml$/;

async function walk(path: string, accept: (name: string) => boolean): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (cause) {
    throw new InputError('no such file or folder', path, { cause });
  }
  if (!info.isDirectory()) return [path];
  const entries = (await readdir(path, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const out: string[] = [];
  for (const entry of entries) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(child, accept)));
    else if (accept(entry.name)) out.push(child);
  }
  return out;
}

/** Rule files under the given paths (a file given by name is taken whatever its extension). */
export async function findRuleFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths)
    out.push(...(await walk(path, (name) => RULE_FILE.test(name) && !TEST_FILE.test(name))));
  return out;
}

/** Test files (`*.tests.yaml`) under the given paths. */
export async function findTestFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory() === true)
      out.push(...(await walk(path, (name) => TEST_FILE.test(name))));
    else if (TEST_FILE.test(path)) out.push(path);
  }
  return out;
}

export async function readRuleFiles(paths: readonly string[]): Promise<RuleFile[]> {
  const files: RuleFile[] = [];
  for (const file of paths) {
    try {
      files.push({ file, text: await readFile(file, 'utf8') });
    } catch (cause) {
      throw new InputError('cannot read the rule file', file, { cause });
    }
  }
  return files;
}

/** Loads every rule file under the given paths. */
export async function loadRulePaths(paths: readonly string[]): Promise<LoadResult> {
  const files = await findRuleFiles(paths.filter((path) => !TEST_FILE.test(path)));
  return loadRuleFiles(await readRuleFiles(files));
}
