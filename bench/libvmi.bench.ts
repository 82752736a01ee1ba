// LibVMI benchmarks (issue: the LibVMI backend): the cost of one koffi call into libvmi.so against
// the same call made from C, and bulk and random physical reads through LibVMI's file driver against
// Ringside's own snapshot reader, on the same raw dump of the sample guest. Skips, saying why, where
// libvmi.so is not installed.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  LibvmiInstance,
  LibvmiPhysicalMemory,
  loadLibvmi,
} from '../introspect/backends/libvmi/index.js';
import { openSnapshot } from '../introspect/backends/snapshot/index.js';
import { startSampleGuest } from '../lab/guest/launch.js';
import { cacheRoot } from '../lab/guest/paths.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const CALLS = 1_000_000;
const say = (line: string) => process.stdout.write(`${line}\n`);
/** A 32-bit LCG computed exactly (as uint32_t in the C side), so both read the same pages. */
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

async function rawDump(): Promise<string> {
  const path = process.env.RINGSIDE_BENCH_RAW ?? join(cacheRoot(), 'snapshots', 'bench-256m.raw');
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  say(`booting the sample guest for ${path}…`);
  const guest = await startSampleGuest({ name: 'bench-libvmi', plugin: false });
  try {
    const qmp = await guest.qmp();
    await qmp.execute('stop');
    await qmp.execute('pmemsave', { val: 0, size: 256 << 20, filename: path });
    qmp.close();
  } finally {
    await guest.stop();
  }
  return path;
}

interface CFigures {
  ostypeNs: number;
  cachedRead64Ns: number;
  read64Ns: number;
  bulkBytesPerSecond: number;
}

/**
 * Compiler flags for libvmi: pkg-config's, else the ones the loaded library's own prefix gives (a
 * private install such as /opt/libvmi-xen has no .pc file on pkg-config's path); a reason when neither.
 */
function libvmiFlags(libraryPath: string): string[] | string {
  try {
    return execFileSync('pkg-config', ['--cflags', '--libs', 'libvmi'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .trim()
      .split(/\s+/);
  } catch {
    const libdir = dirname(libraryPath);
    const include = join(dirname(libdir), 'include');
    if (existsSync(join(include, 'libvmi', 'libvmi.h')))
      return [`-I${include}`, `-L${libdir}`, '-lvmi'];
    return `pkg-config does not know libvmi and ${include} has no libvmi/libvmi.h`;
  }
}

function directC(raw: string, flags: string[]): CFigures {
  const dir = mkdtempSync(join(tmpdir(), 'ringside-bench-'));
  try {
    const binary = join(dir, 'libvmi-call-bench');
    const libdir = flags.find((flag) => flag.startsWith('-L'))?.slice(2);
    execFileSync('gcc', [
      '-O2',
      '-o',
      binary,
      join(repo, 'bench', 'support', 'libvmi-call-bench.c'),
      ...flags,
      ...(libdir ? [`-Wl,-rpath,${libdir}`] : []),
    ]);
    return JSON.parse(execFileSync(binary, [raw, String(CALLS)], { encoding: 'utf8' })) as CFigures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function perCall(run: () => void): number {
  run();
  return median(
    [0, 1, 2].map(() => {
      const started = process.hrtime.bigint();
      run();
      return Number(process.hrtime.bigint() - started) / CALLS;
    }),
  );
}

function throughput(size: number, read: (address: bigint, chunk: Uint8Array) => void): number {
  const chunk = new Uint8Array(1 << 20);
  const pass = () => {
    const started = process.hrtime.bigint();
    for (let offset = 0; offset + chunk.length <= size; offset += chunk.length)
      read(BigInt(offset), chunk);
    return size / (Number(process.hrtime.bigint() - started) / 1e9);
  };
  pass();
  return Math.max(pass(), pass(), pass());
}

function randomPages(size: number, read: (address: bigint, page: Uint8Array) => void): number {
  const page = new Uint8Array(4096);
  const pages = size / 4096;
  const reads = 200_000;
  let seed = 7;
  const started = process.hrtime.bigint();
  for (let index = 0; index < reads; index++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    read(BigInt((seed % pages) * 4096), page);
  }
  return Number(process.hrtime.bigint() - started) / 1e3 / reads;
}

let library;
try {
  library = loadLibvmi();
} catch (error) {
  say(`skipped: ${(error as Error).message.split(';')[0]}`);
  process.exit(0);
}
say(`libvmi: ${library.path}`);
const raw = await rawDump();
const flags = libvmiFlags(library.path);
if (typeof flags === 'string') say(`the same calls from C: skipped (${flags})`);
const c: CFigures =
  typeof flags === 'string'
    ? { ostypeNs: NaN, cachedRead64Ns: NaN, read64Ns: NaN, bulkBytesPerSecond: NaN }
    : directC(raw, flags);
const instance = LibvmiInstance.open({ mode: 'file', domain: raw });
const f = library.functions;
// A second handle opened directly, for the bare koffi calls (no guard in between).
const opened: [bigint | null] = [null];
if (f.vmi_init(opened, 2, raw, 1n, null, [0]) !== 0) throw new Error(`vmi_init failed on ${raw}`);
const handle = opened[0]!;
const ostype = perCall(() => {
  for (let index = 0; index < CALLS; index++) f.vmi_get_ostype(handle);
});
const out = new BigUint64Array(1);
const cachedKoffi = perCall(() => {
  for (let index = 0; index < CALLS; index++)
    f.vmi_read_64_pa(handle, BigInt(0x100000 + (index & 511) * 8), out);
});
const cachedInstance = perCall(() => {
  for (let index = 0; index < CALLS; index++)
    instance.read64Physical(BigInt(0x100000 + (index & 511) * 8));
});
const pages = Number(instance.maxPhysicalAddress()) / 4096;
const read64Koffi = perCall(() => {
  let seed = 7;
  for (let index = 0; index < CALLS; index++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    f.vmi_read_64_pa(handle, BigInt((seed % pages) * 4096 + 8), out);
  }
});
const read64Instance = perCall(() => {
  let seed = 7;
  for (let index = 0; index < CALLS; index++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    instance.read64Physical(BigInt((seed % pages) * 4096 + 8));
  }
});
say(
  `per call, vmi_get_ostype (returns a field): koffi ${ostype.toFixed(0)} ns vs C ${c.ostypeNs.toFixed(1)} ns`,
);
say(
  `per call, vmi_read_64_pa (LibVMI page-cache hit): koffi ${cachedKoffi.toFixed(0)} ns, through LibvmiInstance ${cachedInstance.toFixed(0)} ns, vs C ${c.cachedRead64Ns.toFixed(0)} ns`,
);
say(
  `per call, vmi_read_64_pa (random page): koffi ${read64Koffi.toFixed(0)} ns, through LibvmiInstance ${read64Instance.toFixed(0)} ns, vs C ${c.read64Ns.toFixed(0)} ns`,
);

const memory = new LibvmiPhysicalMemory(instance);
const snapshot = openSnapshot(raw);
const size = Number(instance.maxPhysicalAddress());
const viaLibvmi = throughput(size, (address, chunk) => memory.readInto(address, chunk));
const viaRingside = throughput(size, (address, chunk) => snapshot.memory.readInto(address, chunk));
say(
  `sequential 1 MiB physical reads: LibVMI (koffi) ${(viaLibvmi / 1e9).toFixed(2)} GB/s, LibVMI from C ${(c.bulkBytesPerSecond / 1e9).toFixed(2)} GB/s, Ringside's snapshot reader ${(viaRingside / 1e9).toFixed(2)} GB/s`,
);
const randomLibvmi = randomPages(size, (address, page) => memory.readInto(address, page));
const randomRingside = randomPages(size, (address, page) =>
  snapshot.memory.readInto(address, page),
);
say(
  `random 4 KiB physical reads: LibVMI ${randomLibvmi.toFixed(2)} µs each, Ringside's snapshot reader ${randomRingside.toFixed(2)} µs each`,
);
snapshot.close();
instance.destroy();
f.vmi_destroy(handle);
