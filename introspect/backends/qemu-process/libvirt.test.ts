// Unit tests: a QEMU that libvirt runs is recognised from libvirt's pid file (and its busy QMP socket
// is never chosen), and domain names that would escape the pid directory are refused.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseQmpSocket, describeQemu, withLibvirt } from './qemu-processes.js';
import { LibvirtMonitor, parseMonitorEvent } from './libvirt.js';

const libvirtArgv = [
  '/usr/bin/qemu-system-x86_64',
  '-name',
  'guest=web2,debug-threads=on',
  '-machine',
  'pc-q35-7.2,usb=off',
  '-accel',
  'tcg',
  '-m',
  'size=262144k',
  '-chardev',
  'socket,id=charmonitor,fd=30,server=on,wait=off',
  '-mon',
  'chardev=charmonitor,id=monitor,mode=control',
];

describe('libvirt domains', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'qemu2-libvirt-unit-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a QEMU named in libvirt’s pid file is that domain, attached through libvirt only', () => {
    writeFileSync(join(dir, 'web2.pid'), '4242\n');
    const qemu = withLibvirt(describeQemu(4242, libvirtArgv)!, dir);
    expect(qemu.libvirtDomain).toBe('web2');
    expect(qemu.attachModes.join(';')).toMatch(/^libvirt \(--libvirt web2:/);
    expect(qemu.attachModes.join(';')).not.toMatch(/process\+qmp/);
    expect(chooseQmpSocket(qemu, undefined)).toBeUndefined();
  });

  it('a pid file naming another pid (stale) does not make it a libvirt domain', () => {
    writeFileSync(join(dir, 'web2.pid'), '999\n');
    expect(withLibvirt(describeQemu(4242, libvirtArgv)!, dir).libvirtDomain).toBeUndefined();
  });

  it('refuses domain names that are paths', () => {
    expect(() => new LibvirtMonitor('../etc/passwd')).toThrow(/not a libvirt domain name/);
    expect(() => new LibvirtMonitor('')).toThrow(/not a libvirt domain name/);
    expect(new LibvirtMonitor('web2').path).toBe('libvirt:web2');
  });

  it('reads QEMU events from `virsh qemu-monitor-event --loop` lines', () => {
    expect(
      parseMonitorEvent(
        `event RESET at 1764770000.123456 for domain 'web2': {"guest":true,"reason":"guest-reset"}`,
      ),
    ).toEqual({ event: 'RESET', data: { guest: true, reason: 'guest-reset' } });
    expect(parseMonitorEvent(`event STOP at 1764770000.000001 for domain 'web2': <null>`)).toEqual({
      event: 'STOP',
    });
    expect(parseMonitorEvent('error: failed to connect')).toBeUndefined();
    expect(parseMonitorEvent('')).toBeUndefined();
  });
});

describe('gdbstubs left in QEMU by Ringside', () => {
  it('are found in `info chardev` with the pid that started them', async () => {
    const { ringsideStubs } = await import('./gdbstub.js');
    const chardevs = [
      'charserial1: filename=unix:/tmp/x/control.sock,server=on',
      '#chr017: filename=gdb',
      'gdbstub: filename=disconnected:unix:/tmp/ringside-gdb-4711-AbC123/gdb.sock,server=on',
      'gdb2: filename=unix:/tmp/ringside-gdb-Zz9/gdb.sock,server=on',
    ].join('\n');
    expect(ringsideStubs(chardevs)).toEqual([
      { socket: '/tmp/ringside-gdb-4711-AbC123/gdb.sock', owner: 4711 },
      { socket: '/tmp/ringside-gdb-Zz9/gdb.sock', owner: undefined },
    ]);
    expect(ringsideStubs('#chr017: filename=gdb')).toEqual([]);
  });
});
