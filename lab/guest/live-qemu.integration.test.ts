// The live QEMU backend on the real sample guest with Ringside's TCG plugin: exec hooks, frame traps,
// views, register-write traps, detaching, and what happens when either side dies.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstValueFrom, type Subscription } from 'rxjs';
import type { VmiEvent } from '../../introspect/events/event.js';
import { openLiveKernel } from '../../introspect/os/linux/live-kernel.js';
import type { LinuxKernel } from '../../introspect/os/linux/linux-kernel.js';
import { execMonitor } from '../../plugins/exec-monitor/index.js';
import { startSampleGuest, type RunningGuest } from './launch.js';
import type { GuestControl } from './control.js';
import { QemuDomain } from '../../introspect/backends/qemu/qemu-domain.js';
import { GdbDomain } from '../../introspect/backends/qemu/gdb-domain.js';

const repo = join(import.meta.dirname ?? '.', '..', '..');
const pluginPath = join(repo, 'build', 'ringside-tcg.so');

let dir: string;
let guest: RunningGuest;
let domain: QemuDomain;
let kernel: LinuxKernel;
let control: GuestControl;

async function attach(): Promise<void> {
  domain = await QemuDomain.attach({
    name: 'it-live',
    pluginSocket: join(dir, 'plugin.sock'),
    ramFile: guest.endpoints.ramFile,
    qmp: await guest.qmp(),
  });
  kernel = openLiveKernel(domain);
}

/** Guest-physical frame of a kernel virtual address. */
function frameOf(address: bigint): bigint {
  const translation = kernel.reader.space.translate(address);
  if (!translation.ok) throw new Error(`cannot translate 0x${address.toString(16)}`);
  return translation.physical >> 12n;
}

const BUSY = 'i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; sleep 0.3';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ringside-live-'));
  guest = await startSampleGuest({
    name: 'it-live',
    plugin: { path: pluginPath, socket: join(dir, 'plugin.sock') },
  });
  control = await guest.control();
  await attach();
}, 240_000);

afterAll(async () => {
  control?.close();
  await domain?.close().catch(() => undefined);
  await guest?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('exec hooks', () => {
  it('see every execve exactly once, with pid, parent, uid, filename and argv', async () => {
    const events: VmiEvent[] = [];
    const subscription = execMonitor
      .start({ domain, kernel })
      .subscribe((event) => events.push(event));
    await domain.synced();
    await control.run(
      "for i in $(seq 25); do /bin/true marker $i; done; su -s /bin/sh app -c '/bin/true as-app'",
    );
    subscription.unsubscribe();
    const markers = events.filter(
      (event) => event.process?.executable === '/bin/true' && event.process.args?.[1] === 'marker',
    );
    expect(markers.map((event) => event.process!.args![2])).toEqual(
      Array.from({ length: 25 }, (_, index) => String(index + 1)),
    );
    const shell = events.find(
      (event) =>
        event.process?.args?.[0] === 'sh' && event.process.command_line?.includes('marker'),
    );
    expect(shell).toBeDefined();
    for (const event of markers) {
      // The event is the new program's: its name is already the one it runs as.
      expect(event.process).toMatchObject({ ppid: shell!.process!.pid, name: 'true' });
      expect(event.user).toMatchObject({ id: 0, effective_id: 0 });
      expect(event.process!.pid).not.toBe(shell!.process!.pid);
    }
    const asApp = events.find((event) => event.process?.args?.[1] === 'as-app');
    expect(asApp?.user).toMatchObject({ id: 1000, group_id: 1000 });
  });

  it('two subscribers on one hook both see every hit; the last unsubscribe removes it', async () => {
    const address = kernel.symbols.address('bprm_execve')!;
    let first = 0;
    let second = 0;
    const a = domain.hook({ kind: 'exec', address }).subscribe(() => first++);
    const b = domain.hook({ kind: 'exec', address }).subscribe(() => second++);
    await domain.synced();
    await control.run('for i in 1 2 3 4 5; do /bin/true; done');
    expect(first).toBeGreaterThanOrEqual(5);
    expect(second).toBe(first);
    a.unsubscribe();
    await domain.synced();
    expect((await domain.stats()).execHooks).toBe(1);
    b.unsubscribe();
    await domain.synced();
    expect((await domain.stats()).execHooks).toBe(0);
    const before = first + second;
    await control.run('for i in 1 2 3; do /bin/true; done');
    expect(first + second).toBe(before);
  });

  it('are hidden: the guest reading the hooked function sees its original bytes', async () => {
    const address = kernel.symbols.address('bprm_execve')!;
    const original = Buffer.from(kernel.reader.bytes(address, 16)).toString('hex');
    const subscription = domain.hook({ kind: 'exec', address }).subscribe(() => undefined);
    await domain.synced();
    // The guest reads its own kernel text through /proc/kcore: first the ELF headers, then the bytes.
    const header = await control.run(
      'dd if=/proc/kcore bs=4096 count=1 2>/dev/null | hexdump -v -e \'16/1 "%02x" "\\n"\'',
    );
    const bytes = Buffer.from(header.output.replace(/\s+/g, ''), 'hex');
    const phoff = Number(bytes.readBigUInt64LE(32));
    const phnum = bytes.readUInt16LE(56);
    let fileOffset: bigint | undefined;
    for (let index = 0; index < phnum; index++) {
      const base = phoff + index * 56;
      if (bytes.readUInt32LE(base) !== 1) continue;
      const offset = bytes.readBigUInt64LE(base + 8);
      const vaddr = bytes.readBigUInt64LE(base + 16);
      const size = bytes.readBigUInt64LE(base + 32);
      if (address >= vaddr && address < vaddr + size) fileOffset = offset + (address - vaddr);
    }
    expect(fileOffset).toBeDefined();
    const seen = await control.run(
      `dd if=/proc/kcore bs=1 skip=${fileOffset} count=16 2>/dev/null | hexdump -v -e '16/1 "%02x"'`,
    );
    subscription.unsubscribe();
    expect(seen.output.trim()).toBe(original);
    expect(Buffer.from(kernel.reader.bytes(address, 16)).toString('hex')).toBe(original);
  });
});

describe('frame traps and views', () => {
  async function countDuring(subscribeTo: () => Subscription, command: string): Promise<number> {
    let count = 0;
    const subscription = subscribeTo();
    const counter = domain.events$.subscribe((event) => {
      if (event.type === 'mem_access') count++;
    });
    await domain.synced();
    await control.run(command);
    subscription.unsubscribe();
    counter.unsubscribe();
    await domain.synced();
    return count;
  }

  it('a write trap fires on a frame the guest writes, and not on one it never writes', async () => {
    const jiffies = frameOf(
      kernel.symbols.address('jiffies_64') ?? kernel.symbols.address('jiffies')!,
    );
    const banner = frameOf(kernel.symbols.address('linux_banner')!);
    const seen: VmiEvent[] = [];
    const written = await countDuring(
      () =>
        domain
          .hook({ kind: 'memory', frame: jiffies, access: { w: true } })
          .subscribe(({ event }) => void seen.push(event)),
      BUSY,
    );
    expect(written).toBeGreaterThan(0);
    expect(
      seen.every((event) => event.vmi!.gpa! >> 12n === jiffies && event.vmi!.access === 'w'),
    ).toBe(true);
    const untouched = await countDuring(
      () => domain.hook({ kind: 'memory', frame: banner, access: { w: true } }).subscribe(),
      BUSY,
    );
    expect(untouched).toBe(0);
  });

  it('a view switch changes which accesses trap', async () => {
    const jiffies = frameOf(
      kernel.symbols.address('jiffies_64') ?? kernel.symbols.address('jiffies')!,
    );
    const hook = () =>
      domain.hook({ kind: 'memory', frame: jiffies, access: { w: true }, view: 1 }).subscribe();
    expect(await countDuring(hook, BUSY)).toBe(0);
    await domain.switchView(0, 1);
    await domain.switchView(1, 1);
    const views: number[] = [];
    const watcher = domain.events$.subscribe(
      (event) => event.type === 'mem_access' && views.push(event.vmi!.view!),
    );
    expect(await countDuring(hook, BUSY)).toBeGreaterThan(0);
    watcher.unsubscribe();
    expect(new Set(views)).toEqual(new Set([1]));
    await domain.switchView(0, 0);
    await domain.switchView(1, 0);
    expect(await countDuring(hook, BUSY)).toBe(0);
  });

  it('an execute trap fires when code in the frame runs, and not on a data frame', async () => {
    const code = frameOf(kernel.symbols.address('bprm_execve')!);
    const data = frameOf(
      kernel.symbols.address('jiffies_64') ?? kernel.symbols.address('jiffies')!,
    );
    const seen: VmiEvent[] = [];
    const executed = await countDuring(
      () =>
        domain
          .hook({ kind: 'memory', frame: code, access: { x: true } })
          .subscribe(({ event }) => void seen.push(event)),
      'for i in 1 2 3; do /bin/true; done',
    );
    expect(executed).toBeGreaterThan(0);
    expect(
      seen.every((event) => event.vmi!.access === 'x' && event.vmi!.gpa! >> 12n === code),
    ).toBe(true);
    expect(
      await countDuring(
        () => domain.hook({ kind: 'memory', frame: data, access: { x: true } }).subscribe(),
        BUSY,
      ),
    ).toBe(0);
  });

  it('register-write traps see CR3 loads at context switches', async () => {
    const writes: VmiEvent[] = [];
    const subscription = domain
      .hook({ kind: 'register', register: 'cr3' })
      .subscribe(({ event }) => void writes.push(event));
    await domain.synced();
    await control.run('for i in 1 2 3; do /bin/true; done');
    subscription.unsubscribe();
    await domain.synced();
    expect(writes.length).toBeGreaterThan(0);
    expect(writes[0]!.vmi).toMatchObject({ register: 'cr3' });
    expect(writes.every((event) => event.vmi!.new_value !== undefined)).toBe(true);
  });
});

describe('when one side dies', () => {
  it('Ringside killed while it holds a vCPU: the guest runs on', async () => {
    await domain.close();
    const script = join(dir, 'holder.mjs');
    writeFileSync(
      script,
      `import { QemuDomain } from ${JSON.stringify(join(repo, 'dist', 'introspect', 'backends', 'qemu', 'qemu-domain.js'))};
const domain = await QemuDomain.attach({ name: 'holder', pluginSocket: process.argv[2], ramFile: process.argv[3] });
domain.hook({ kind: 'exec', address: BigInt(process.argv[4]) }).subscribe(({ hold }) => { process.stdout.write('held\\n'); hold(new Promise(() => {})); });
await domain.synced();
process.stdout.write('planted\\n');
`,
    );
    const address = kernel.symbols.address('bprm_execve')!;
    const child = spawn(
      process.execPath,
      [script, join(dir, 'plugin.sock'), guest.endpoints.ramFile, `0x${address.toString(16)}`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    const waitFor = (text: string) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (output.includes(text)) resolve();
        };
        child.stdout!.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          check();
        });
        child.once('exit', () => reject(new Error(`holder exited before "${text}": ${output}`)));
        check();
      });
    await waitFor('planted');
    const command = control.run('/bin/true; echo survived');
    await waitFor('held');
    child.kill('SIGKILL');
    const result = await command;
    expect(result.output).toContain('survived');
    await attach();
    expect((await domain.stats()).execHooks).toBe(0);
  });

  it('QEMU killed mid-stream: hook observables error with a clear message', async () => {
    const address = kernel.symbols.address('bprm_execve')!;
    const failure = firstValueFrom(domain.hook({ kind: 'exec', address })).then(
      () => 'no error',
      (error: Error) => error.message,
    );
    await domain.synced();
    process.kill(guest.pid, 'SIGKILL');
    await expect(failure).resolves.toMatch(/QEMU closed the connection/);
  });
});

describe('a QEMU without the plugin: the gdbstub fallback', () => {
  it('declares what it can do, runs the exec monitor through breakpoints, and detaches cleanly', async () => {
    const plain = await startSampleGuest({ name: 'it-gdb', plugin: false });
    try {
      const fallback = await GdbDomain.attach({
        name: 'it-gdb',
        gdbSocket: plain.endpoints.gdbSocket,
        ramFile: plain.endpoints.ramFile,
      });
      expect(fallback.capabilities).toMatchObject({
        breakpoints: 'debugger',
        memAccess: 'none',
        altp2m: 'none',
      });
      const fallbackKernel = openLiveKernel(fallback);
      const refused = firstValueFrom(
        fallback.hook({ kind: 'memory', frame: 0n, access: { w: true } }),
      ).catch((error: Error) => error.message);
      await expect(refused).resolves.toMatch(/need Ringside's TCG plugin/);
      const events: VmiEvent[] = [];
      const subscription = execMonitor
        .start({ domain: fallback, kernel: fallbackKernel })
        .subscribe((event) => events.push(event));
      await fallback.synced();
      const plainControl = await plain.control();
      await plainControl.run('for i in 1 2 3; do /bin/true via-gdb; done');
      subscription.unsubscribe();
      expect(events.filter((event) => event.process?.args?.[1] === 'via-gdb')).toHaveLength(3);
      await fallback.close();
      expect((await plainControl.run('echo still running')).output).toContain('still running');
      plainControl.close();
    } finally {
      await plain.stop();
    }
  });
});
