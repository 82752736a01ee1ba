// `ringside qemu-args` makes the run directory the printed arguments point at, instead of asking the
// user to; a directory it cannot make is bad input naming it.
import { jest } from '@jest/globals';
import { Command } from 'commander';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InputError } from '../../introspect/errors.js';
import { registerLiveCommands } from './live.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ringside-qemu-args-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = async (...args: string[]) => {
  const program = new Command().exitOverride();
  registerLiveCommands(program);
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['node', 'ringside', 'qemu-args', ...args]);
    return { stdout: out.mock.calls.join(''), stderr: err.mock.calls.join('') };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
};

describe('ringside qemu-args', () => {
  it('creates the run directory (private to the user) and says where sockets go', async () => {
    const runDir = join(dir, 'run', 'nested');
    const { stdout, stderr } = await run('--name', 'vm1', '--run-dir', runDir);
    expect(existsSync(join(runDir, 'vm1'))).toBe(true);
    expect(statSync(join(runDir, 'vm1')).mode & 0o777).toBe(0o700);
    expect(stdout).toContain(join(runDir, 'vm1'));
    expect(stderr).not.toMatch(/create .* first/);
  });

  it('a run directory that cannot be made is bad input naming it', async () => {
    const blocker = join(dir, 'file');
    writeFileSync(blocker, 'x');
    await expect(run('--name', 'vm1', '--run-dir', blocker)).rejects.toThrow(InputError);
    await expect(run('--name', 'vm1', '--run-dir', blocker)).rejects.toThrow(
      /cannot create the run directory \(ENOTDIR\)/,
    );
  });

  it("a run directory under /proc is bad input, not a hang in Node's recursive mkdir", async () => {
    await expect(run('--name', 'vm1', '--run-dir', '/proc/ringside-qemu-args/run')).rejects.toThrow(
      /cannot create the run directory \(ENOENT\)/,
    );
  });
});
