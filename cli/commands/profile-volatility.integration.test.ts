// Volatility 3 itself runs linux.pslist on the sample guest's dump with the ISF `ringside profile isf`
// wrote: it finds the kernel by linux_banner's exact bytes, so the ISF must carry them (trailing
// newline included). Needs a volatility3 checkout: RINGSIDE_VOLATILITY3=<path>; skipped otherwise.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { takeSampleDump, type SampleDump } from '../../fuzz/sample-dump.js';

const VOLATILITY = process.env['RINGSIDE_VOLATILITY3'];
const present = VOLATILITY !== undefined && existsSync(join(VOLATILITY, 'vol.py'));
if (!present)
  console.warn('RINGSIDE_VOLATILITY3 names no volatility3 checkout: Volatility test skipped');

const cli = join(import.meta.dirname ?? '.', '..', '..', 'dist', 'cli', 'main.js');
let dir: string;
let dump: SampleDump;

/**
 * Keeps the banner only where the kernel holds it: other copies of its text followed by a NUL (the
 * printk log's record of it, on this guest) would let Volatility match a banner without the newline.
 */
function onlyLinuxBanner(path: string, banner: string): number {
  const bytes = readFileSync(path);
  const needle = Buffer.from(`${banner}\0`, 'latin1');
  const fd = openSync(path, 'r+');
  let patched = 0;
  for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) {
    writeSync(fd, Buffer.from(' '), 0, 1, at + needle.length - 1);
    patched++;
  }
  return patched;
}

(present ? describe : describe.skip)(
  'Volatility 3 with the ISF ringside profile isf writes',
  () => {
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'ringside-vol3-'));
      dump = await takeSampleDump(dir, 'vol3');
    }, 240_000);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('linux.pslist lists the same processes as ringside snapshot pslist', () => {
      onlyLinuxBanner(dump.path, dump.view.version);
      const symbols = join(dir, 'symbols');
      mkdirSync(join(symbols, 'linux'), { recursive: true });
      const written = spawnSync(
        process.execPath,
        [cli, 'profile', 'isf', dump.path, '-o', join(symbols, 'linux', 'ringside.json')],
        { encoding: 'utf8' },
      );
      expect(written.stderr).toMatch(/^wrote /);
      const cache = join(dir, 'vol-cache');
      mkdirSync(cache);
      const vol = spawnSync(
        '/usr/bin/python3',
        [
          join(VOLATILITY!, 'vol.py'),
          '--offline',
          '-q',
          '-s',
          symbols,
          '--cache-path',
          cache,
          '-r',
          'json',
          '-f',
          dump.path,
          'linux.pslist',
        ],
        { encoding: 'utf8', timeout: 180_000, maxBuffer: 64 << 20 },
      );
      expect(vol.stderr).not.toMatch(/No suitable linux banner/);
      expect(vol.status).toBe(0);
      const ours = spawnSync(process.execPath, [cli, 'snapshot', 'pslist', '--json', dump.path], {
        encoding: 'utf8',
      });
      const pids = (rows: { pid?: number; PID?: number }[]) =>
        rows.map((row) => row.pid ?? row.PID).sort((a, b) => a! - b!);
      const theirs = pids(JSON.parse(vol.stdout) as { PID: number }[]);
      expect(theirs.length).toBeGreaterThan(30);
      expect(theirs).toEqual(pids(JSON.parse(ours.stdout) as { pid: number }[]));
    }, 240_000);
  },
);
