// Builds the sample guest from Debian packages only: the cloud kernel (linux-image-cloud-amd64, or
// -arm64 as a foreign-architecture package) and a busybox-static initramfs holding
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
import { guestCacheDir, guestSourceDir } from './paths.js';

export type GuestArchitecture = 'x86_64' | 'aarch64';

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

/** The versioned kernel package the meta package points at (whatever is current). */
function resolveKernelPackage(metaPackage: string): string {
  let depends = '';
  try {
    depends = run('apt-cache', ['depends', metaPackage]);
  } catch {
    run('apt-get', ['update', '-qq']);
    try {
      depends = run('apt-cache', ['depends', metaPackage]);
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
  // A foreign package "name:arch" downloads as name_version_arch.deb.
  const prefix = `${packageName.replace(/:.*$/, '')}_`;
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
    copyFileSync(join(moduleDir, path), join(root, 'lib/modules', `${name}.ko`));
  }
  if (scenarios) cpSync(scenarios, join(root, GUEST_SCENARIO_DIR), { recursive: true });
}

/** Builds (or finds in the cache) the sample guest image for an architecture (x86-64 by default). */
export function buildSampleGuest(
  log: (line: string) => void = () => {},
  architecture: GuestArchitecture = 'x86_64',
): GuestImage {
  const debian = DEBIAN[architecture];
  const hostCache = guestCacheDir();
  const cache = debian.cache ? join(hostCache, debian.cache) : hostCache;
  const debs = join(cache, 'debs');
  const kernelPackage = resolveKernelPackage(debian.kernelMeta);
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
      ? buildScenarios(release, findKernelHeaders(release, kernelDeb), log)
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
