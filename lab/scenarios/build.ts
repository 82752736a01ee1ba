// Builds the attack scenarios into the sample guest: compiles the test rootkit (module/) against the
// installed headers of exactly the guest's kernel, in the cache, and lays it out with the scripts.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';
import { RingsideError } from '../../introspect/errors.js';
import { guestCacheDir } from '../guest/paths.js';
import { scenarioSourceDir } from './paths.js';

/** Where the scenarios sit inside the guest. */
export const GUEST_SCENARIO_DIR = '/opt/scenarios';
export const TEST_MODULE = 'ringside_test';
/** The second test module: hiding itself, ftrace and kprobe hooks (see samples/scenarios/README.md). */
export const HOOK_MODULE = 'ringside_rk';
const MODULE_SOURCES = ['Kbuild', 'ringside_test.c', 'ringside_rk.c'];
const SCRIPTS = ['run.sh', 'cleanup.sh'];
/** A scenario's user program: <scenario>/<name>.c, built static into <scenario>/<name>. */
const PROGRAM_SOURCE = /^[a-z0-9-]+\.c$/;

/** The files that go into the guest, relative to samples/scenarios (module sources included). */
export function scenarioGuestFiles(source = scenarioSourceDir()): string[] {
  const files = ['lib.sh', ...MODULE_SOURCES.map((name) => join('module', name))];
  for (const entry of readdirSync(source, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === 'module') continue;
    for (const script of SCRIPTS) {
      if (existsSync(join(source, entry.name, script))) files.push(join(entry.name, script));
    }
    for (const name of readdirSync(join(source, entry.name))) {
      if (PROGRAM_SOURCE.test(name)) files.push(join(entry.name, name));
    }
  }
  return files.sort();
}

/** Cache key of the scenarios' guest files: a change to any of them rebuilds the guest image. */
export function scenarioKey(headersVersion: string, source = scenarioSourceDir()): string {
  const hash = createHash('sha256').update(headersVersion);
  for (const file of scenarioGuestFiles(source)) {
    hash
      .update(file)
      .update('\0')
      .update(readFileSync(join(source, file)))
      .update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

export interface KernelHeaders {
  dir: string;
  /** The Debian package version of the headers, e.g. 6.1.192-2. */
  version: string;
  /** Extra make arguments (headers unpacked in the cache build modules without BTF: no pahole). */
  makeArgs?: string[];
}

function query(command: string, args: string[]): string | undefined {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

/**
 * The installed headers of the guest's kernel, checked against its package: same release (the
 * module's vermagic) and same Debian version (same build). Says what to install when they differ.
 */
export function findKernelHeaders(release: string, kernelDeb: string): KernelHeaders {
  const kernelVersion = query('dpkg-deb', ['-f', kernelDeb, 'Version'])?.trim();
  const headersPackage = `linux-headers-${release}`;
  const install = `apt-get install ${headersPackage}${kernelVersion ? `=${kernelVersion}` : ''} (or run scripts/setup.sh)`;
  const dir = join('/usr/src', headersPackage);
  const version = query('dpkg-query', ['-W', '-f', '${Version}', headersPackage])?.trim();
  if (!existsSync(join(dir, 'Makefile')) || !version) {
    throw new RingsideError(
      'NOT_FOUND',
      `the scenarios' test module needs the headers of the sample guest's kernel ${release}, which are not installed: ${install}`,
    );
  }
  const uts = readFileSync(join(dir, 'include', 'generated', 'utsrelease.h'), 'utf8');
  if (!uts.includes(`"${release}"`) || (kernelVersion && version !== kernelVersion)) {
    throw new RingsideError(
      'NOT_FOUND',
      `${headersPackage} is version ${version}, the sample guest's kernel package is ${kernelVersion ?? 'unknown'}: ${install}, or delete ${kernelDeb} to build the guest from the current kernel`,
    );
  }
  return { dir, version };
}

function compileProgram(source: string, output: string): void {
  try {
    execFileSync('gcc', ['-static', '-O2', '-Wall', '-o', output, source], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const { stderr = '' } = error as { stderr?: string };
    throw new RingsideError('BACKEND', `building ${source} failed:\n${stderr.trim()}`, {
      cause: error,
    });
  }
}

/**
 * Compiles the test module in the cache (make -C <headers> M=<cache dir>) and returns a directory
 * laid out as /opt/scenarios: ringside_test.ko, lib.sh and <scenario>/run.sh, cleanup.sh.
 */
export function buildScenarios(
  release: string,
  headers: KernelHeaders,
  log: (line: string) => void = () => {},
  cacheDir = guestCacheDir(),
): string {
  const source = scenarioSourceDir();
  const dir = join(cacheDir, `scenarios-${release}-${scenarioKey(headers.version, source)}`);
  if (existsSync(join(dir, `${TEST_MODULE}.ko`)) && existsSync(join(dir, `${HOOK_MODULE}.ko`)))
    return dir;
  log(`building the scenarios' test module against ${headers.dir}`);
  const staging = `${dir}.tmp`;
  const moduleBuild = join(staging, '.module-build');
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(moduleBuild, { recursive: true });
  for (const name of MODULE_SOURCES) {
    copyFileSync(join(source, 'module', name), join(moduleBuild, name));
  }
  try {
    execFileSync(
      'make',
      ['-C', headers.dir, `M=${moduleBuild}`, ...(headers.makeArgs ?? []), 'modules'],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new RingsideError(
      'BACKEND',
      `building ${TEST_MODULE}.ko against ${headers.dir} failed:\n${`${stdout}\n${stderr}`.trim()}`,
      { cause: error },
    );
  }
  for (const module of [TEST_MODULE, HOOK_MODULE])
    copyFileSync(join(moduleBuild, `${module}.ko`), join(staging, `${module}.ko`));
  rmSync(moduleBuild, { recursive: true, force: true });
  for (const file of scenarioGuestFiles(source)) {
    if (file.startsWith('module')) continue;
    const target = join(staging, file);
    mkdirSync(join(target, '..'), { recursive: true });
    if (file.endsWith('.c')) {
      // Static, so it needs nothing in the busybox guest (x86-64 only, as the module is).
      compileProgram(join(source, file), target.replace(/\.c$/, ''));
      continue;
    }
    copyFileSync(join(source, file), target);
    chmodSync(target, 0o755);
  }
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  return dir;
}
