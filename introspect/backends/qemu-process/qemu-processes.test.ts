// Unit tests: what `ringside guests` reads from a QEMU command line (ours, libvirt's, a bare one).
import { describeQemu, parseMemorySize } from './qemu-processes.js';

describe('QEMU command lines', () => {
  it('reads name, accelerator, RAM, machine, QMP socket and attach modes of a plain guest', () => {
    const qemu = describeQemu(7, [
      '/usr/bin/qemu-system-x86_64',
      '-name',
      'web1',
      '-accel',
      'tcg',
      '-machine',
      'q35',
      '-m',
      '2G',
      '-qmp',
      'unix:/run/web1.qmp,server=on,wait=off',
    ]);
    expect(qemu).toMatchObject({
      pid: 7,
      name: 'web1',
      accelerator: 'tcg',
      machine: 'q35',
      ramBytes: 2n << 30n,
      architecture: 'x86_64',
      qmpSockets: ['/run/web1.qmp'],
      ringsidePlugin: false,
    });
    expect(qemu!.attachModes).toEqual(['process+qmp (memory, pause, hardware breakpoints)']);
  });

  it('reads libvirt’s style: guest=, accel= in -machine, the monitor chardev', () => {
    const qemu = describeQemu(9, [
      'qemu-system-x86_64',
      '-name',
      'guest=db,debug-threads=on',
      '-machine',
      'pc-q35-9.2,usb=off,accel=kvm',
      '-m',
      'size=4194304k',
      '-chardev',
      'socket,id=charmonitor,fd=30,server=on,wait=off',
      '-chardev',
      'socket,id=charmonitor2,path=/var/lib/libvirt/qemu/db.monitor,server=on,wait=off',
      '-mon',
      'chardev=charmonitor2,id=monitor,mode=control',
    ]);
    expect(qemu).toMatchObject({
      name: 'db',
      accelerator: 'kvm',
      machine: 'pc-q35-9.2',
      ramBytes: 4n << 30n,
      qmpSockets: ['/var/lib/libvirt/qemu/db.monitor'],
    });
  });

  it('is not fooled by other programs, and defaults to 128 MiB without -m', () => {
    expect(describeQemu(1, ['/bin/bash', '-name', 'qemu-system-x86_64'])).toBeUndefined();
    expect(describeQemu(1, ['qemu-system-aarch64'])).toMatchObject({
      ramBytes: 128n << 20n,
      architecture: 'aarch64',
      attachModes: ['process (memory only, known layout)'],
    });
    expect(parseMemorySize('512')).toBe(512n << 20n);
    expect(parseMemorySize('bogus')).toBeUndefined();
  });
});
