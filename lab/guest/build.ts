// Builds the sample guest from Debian packages only: the cloud kernel (linux-image-cloud-amd64, or
// -arm64 as a foreign-architecture package) of a kernel series of the matrix (bookworm's 6.1,
// bookworm-backports' 6.12) and a busybox-static initramfs holding
// samples/guest/rootfs and, on x86-64, the attack scenarios (samples/scenarios, their module built
// against the kernel's headers). Products are cached outside the repo.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, join, relative } from 'node:path';
import { InputError, RingsideError } from '../../introspect/errors.js';
import { buildScenarios, findKernelHeaders, GUEST_SCENARIO_DIR } from '../scenarios/build.js';
import type { KernelHeaders } from '../scenarios/build.js';
import { cacheRoot, guestSourceDir } from './paths.js';

export type GuestArchitecture = 'x86_64' | 'aarch64';

/** The kernel matrix: Debian's cloud kernels the sample guest builds on. */
export const KERNEL_SERIES = ['6.1', '6.12'] as const;
export type KernelSeries = (typeof KERNEL_SERIES)[number];

/**
 * Where a series comes from: the suite whose linux-image-cloud-* meta package points at it (none:
 * apt's candidate, bookworm's 6.1), and the cache folder beside the default guest's.
 */
const SERIES: Record<KernelSeries, { suite?: string; cache: string }> = {
  '6.1': { cache: 'guest' },
  '6.12': { suite: 'bookworm-backports', cache: 'guest-6.12' },
};

/** A series named by a user or the environment (RINGSIDE_KERNEL); bad input names the value. */
export function kernelSeries(value: string | undefined): KernelSeries {
  if (value === undefined || value === '') return '6.1';
  if ((KERNEL_SERIES as readonly string[]).includes(value)) return value as KernelSeries;
  throw new InputError(`unknown kernel series (expected ${KERNEL_SERIES.join(' or ')})`, value);
}

export interface GuestImage {
  architecture: GuestArchitecture;
  /** Kernel release, e.g. 6.1.0-56-cloud-amd64. */
  release: string;
  kernel: string;
  initrd: string;
  /** The kernel's config, from the package (for tests that need to know build options). */
  config: string;
  /** The directory of the build. */
  dir: string;
  /** The kernel series of the matrix it was built on. */
  series: KernelSeries;
}

/** Kernel modules the sample workload loads; none depends on another. */
export const SAMPLE_MODULES: Record<string, string> = {
  dummy: 'kernel/drivers/net/dummy.ko',
  nls_utf8: 'kernel/fs/nls/nls_utf8.ko',
  loop: 'kernel/drivers/block/loop.ko',
};

/** Debian's names per guest architecture: the kernel meta package and the package qualifier. */
const DEBIAN: Record<GuestArchitecture, { kernelMeta: string; qualifier: string; cache: string }> =
  {
    x86_64: { kernelMeta: 'linux-image-cloud-amd64', qualifier: '', cache: '' },
    // Foreign-architecture packages: `dpkg --add-architecture arm64` (scripts/setup.sh) makes apt see them.
    aarch64: { kernelMeta: 'linux-image-cloud-arm64:arm64', qualifier: ':arm64', cache: 'arm64' },
  };

function run(command: string, args: string[], cwd?: string): string {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new RingsideError('BACKEND', `${command} ${args.join(' ')} failed: ${stderr.trim()}`, {
      cause: error,
    });
  }
}

/** The version of a package that a suite holds (apt-cache madison), or undefined. */
function versionInSuite(packageName: string, suite: string): string | undefined {
  const lines = run('apt-cache', ['madison', packageName]).split('\n');
  const line = lines.find((entry) => entry.includes(` ${suite}/`));
  return line?.split('|')[1]?.trim();
}

/**
 * The versioned kernel package the meta package points at: apt's candidate (whatever is current),
 * or the meta package's version in `suite`.
 */
function resolveKernelPackage(metaPackage: string, suite?: string): string {
  let depends = '';
  const dependsOf = (): string => {
    if (!suite) return run('apt-cache', ['depends', metaPackage]);
    const version = versionInSuite(metaPackage, suite);
    if (!version) throw new InputError(`apt knows no version of it in ${suite}`, metaPackage);
    return run('apt-cache', ['depends', `${metaPackage}=${version}`]);
  };
  try {
    depends = dependsOf();
  } catch {
    run('apt-get', ['update', '-qq']);
    try {
      depends = dependsOf();
    } catch (error) {
      throw new InputError(
        metaPackage.includes(':')
          ? 'apt does not know this foreign-architecture package (run scripts/setup.sh, which adds the architecture with dpkg --add-architecture)'
          : 'apt does not know this package',
        metaPackage,
        { code: 'UNSUPPORTED', cause: error },
      );
    }
  }
  const match = /Depends:\s+(linux-image-[0-9][^\s]*)/.exec(depends);
  if (!match) {
    throw new InputError(
      `no versioned kernel package in its dependencies:\n${depends}`,
      metaPackage,
      {
        code: 'UNSUPPORTED',
      },
    );
  }
  return match[1]!;
}

function download(packageName: string, into: string): string {
  mkdirSync(into, { recursive: true });
  // A foreign package "name:arch" (or "name=version") downloads as name_version_arch.deb.
  const prefix = `${packageName.replace(/[:=].*$/, '')}_`;
  const existing = readdirSync(into).find(
    (name) => name.startsWith(prefix) && name.endsWith('.deb'),
  );
  if (existing) return join(into, existing);
  try {
    run('apt-get', ['download', '-qq', packageName], into);
  } catch {
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['download', '-qq', packageName], into);
  }
  const fetched = readdirSync(into).find(
    (name) => name.startsWith(prefix) && name.endsWith('.deb'),
  );
  if (!fetched) throw new InputError('apt-get download produced no .deb', packageName);
  return join(into, fetched);
}

function extract(deb: string, into: string): void {
  if (existsSync(join(into, '.extracted'))) return;
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true });
  run('dpkg-deb', ['-x', deb, into]);
  writeFileSync(join(into, '.extracted'), '');
}

function hashTree(dir: string): string {
  const hash = createHash('sha256');
  const walk = (path: string): void => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      const stat = statSync(full);
      hash.update(relative(dir, full));
      if (stat.isDirectory()) walk(full);
      else hash.update(readFileSync(full)).update(String(stat.mode & 0o111));
    }
  };
  walk(dir);
  return hash.digest('hex').slice(0, 16);
}

/**
 * `busybox` is the guest's binary; `lister`, a busybox the host can run from the same Debian source
 * package (the same applets), names the applets: the guest's own may be of another architecture.
 * `scenarios`, when given, is copied into the guest.
 */
function assembleRootfs(
  root: string,
  busybox: string,
  lister: string,
  moduleDir: string,
  scenarios: string | undefined,
): void {
  rmSync(root, { recursive: true, force: true });
  cpSync(join(guestSourceDir(), 'rootfs'), root, { recursive: true });
  for (const dir of [
    'bin',
    'sbin',
    'usr/bin',
    'usr/sbin',
    'proc',
    'sys',
    'dev',
    'lib/modules',
    'root',
  ]) {
    mkdirSync(join(root, dir), { recursive: true });
  }
  copyFileSync(busybox, join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  const applets = run(lister, ['--list-full']).split('\n').filter(Boolean);
  for (const applet of applets) {
    const target = join(root, applet);
    if (!existsSync(target)) symlinkSync('/bin/busybox', target);
  }
  for (const [name, path] of Object.entries(SAMPLE_MODULES)) {
    const target = join(root, 'lib/modules', `${name}.ko`);
    // 6.12's packages ship modules xz-compressed: busybox insmod wants them plain.
    if (existsSync(join(moduleDir, path))) copyFileSync(join(moduleDir, path), target);
    else writeFileSync(target, execFileSync('xz', ['-dc', join(moduleDir, `${path}.xz`)]));
  }
  if (scenarios) cpSync(scenarios, join(root, GUEST_SCENARIO_DIR), { recursive: true });
}

/**
 * The headers of the guest's kernel for building the test module: the installed ones when they are
 * of exactly its package version, else Debian's headers packages (the flavour's, -common and
 * linux-kbuild) unpacked in the cache, so another series needs no kernel installed on the host.
 */
function kernelHeaders(release: string, kernelDeb: string, cache: string): KernelHeaders {
  try {
    return findKernelHeaders(release, kernelDeb);
  } catch (error) {
    if (!(error instanceof RingsideError) || error.code !== 'NOT_FOUND') throw error;
  }
  const version = run('dpkg-deb', ['-f', kernelDeb, 'Version']).trim();
  const flavour = `linux-headers-${release}`;
  const depends = run('apt-cache', ['depends', `${flavour}=${version}`]);
  const packages = [
    flavour,
    ...[...depends.matchAll(/Depends: (linux-headers-\S+-common|linux-kbuild-\S+)$/gm)].map(
      (match) => match[1]!,
    ),
  ];
  const root = join(cache, `headers-${release}`);
  const dir = join(root, 'usr', 'src', flavour);
  if (!existsSync(join(root, '.extracted'))) {
    rmSync(root, { recursive: true, force: true });
    for (const name of packages) {
      run('dpkg-deb', ['-x', download(`${name}=${version}`, join(cache, 'debs')), root]);
    }
    // The flavour's Makefile includes -common's by its absolute path under /usr/src.
    const makefile = join(dir, 'Makefile');
    writeFileSync(
      makefile,
      readFileSync(makefile, 'utf8').replace(/^include \/usr\/src\//m, `include ${root}/usr/src/`),
    );
    writeFileSync(join(root, '.extracted'), '');
  }
  return { dir, version, makeArgs: ['CONFIG_DEBUG_INFO_BTF_MODULES='] };
}

/**
 * Builds (or finds in the cache) the sample guest image for an architecture (x86-64 by default) and
 * a kernel series (6.1 by default; each series has its own cache folder).
 */
export function buildSampleGuest(
  log: (line: string) => void = () => {},
  architecture: GuestArchitecture = 'x86_64',
  series: KernelSeries = '6.1',
): GuestImage {
  const debian = DEBIAN[architecture];
  const hostCache = join(cacheRoot(), SERIES[series].cache);
  const cache = debian.cache ? join(hostCache, debian.cache) : hostCache;
  const debs = join(cache, 'debs');
  const kernelPackage = resolveKernelPackage(debian.kernelMeta, SERIES[series].suite);
  const release = kernelPackage.replace(/^linux-image-/, '').replace(/:.*$/, '');
  log(`kernel package ${kernelPackage}`);
  const kernelDeb = download(kernelPackage, debs);
  const busyboxDeb = download(`busybox-static${debian.qualifier}`, debs);
  const kernelTree = join(cache, `pkg-${release}`);
  const busyboxTree = join(cache, 'pkg-busybox');
  extract(kernelDeb, kernelTree);
  extract(busyboxDeb, busyboxTree);
  // The host's own busybox lists the applets (same source package, so the same applet set).
  const hostBusyboxTree = join(hostCache, 'pkg-busybox');
  if (debian.qualifier) {
    extract(download('busybox-static', join(hostCache, 'debs')), hostBusyboxTree);
  }

  // The attack scenarios (samples/scenarios): a test module built against this kernel's headers.
  // x86-64 only: building it for ARM64 would need the arm64 headers and a cross compiler.
  const scenarios =
    architecture === 'x86_64'
      ? buildScenarios(release, kernelHeaders(release, kernelDeb, cache), log, cache)
      : undefined;
  const key = createHash('sha256')
    .update(hashTree(join(guestSourceDir(), 'rootfs')))
    .update(scenarios ? basename(scenarios) : 'no scenarios')
    .digest('hex')
    .slice(0, 16);
  const dir = join(cache, `image-${release}-${key}`);
  const image: GuestImage = {
    architecture,
    release,
    // On arm64 Debian's vmlinuz is the uncompressed Image (with an EFI stub): QEMU boots it as is.
    kernel: join(kernelTree, 'boot', `vmlinuz-${release}`),
    config: join(kernelTree, 'boot', `config-${release}`),
    initrd: join(dir, 'initrd.cpio'),
    dir,
    series,
  };
  if (existsSync(image.initrd)) return image;

  log(`assembling initramfs in ${dir}`);
  const staging = `${dir}.tmp`;
  const root = join(staging, 'root');
  assembleRootfs(
    root,
    join(busyboxTree, 'bin', 'busybox'),
    join(hostBusyboxTree, 'bin', 'busybox'),
    join(kernelTree, 'lib', 'modules', release),
    scenarios,
  );
  execFileSync(
    'sh',
    [
      '-c',
      'find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet --owner=0:0 > ../initrd.cpio',
    ],
    {
      cwd: root,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  rmSync(root, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  return image;
}
