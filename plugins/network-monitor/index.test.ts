import { AARCH64, X86_64 } from '../../introspect/arch/index.js';
import { FakeLinux } from '../../introspect/os/linux/test-support/fake-linux.js';
import { missingRequirements } from '../requirements.js';
import { collect, fakeGuest, hookHit } from '../test-support/fake-guest.js';
import { networkMonitor, parseSockaddrIn } from './index.js';

function world() {
  const linux = new FakeLinux();
  const hook = linux.kernelText(['tcp_v4_connect']).get('tcp_v4_connect')!;
  const [curl] = linux.process(300, 'curl');
  linux.setCredentials(curl!.task, { uid: 1000, gid: 1000, euid: 1000, egid: 1000 });
  return { linux, hook, key: `exec:${hook.toString(16)}` as const, task: curl!.task };
}

describe('network-monitor', () => {
  it.each([
    ['x86-64', X86_64],
    ['AArch64', AARCH64],
  ] as const)('reports the destination of an outgoing TCP connection (%s)', async (_, arch) => {
    const { linux, hook, key, task } = world();
    const sockaddr = linux.sockaddrIn('203.0.113.7', 4444);
    const guest = fakeGuest(linux, arch);
    const { events } = collect(
      networkMonitor.start({ domain: guest.domain, kernel: guest.kernel }),
    );
    expect(guest.domain.hookAt(key)).toEqual({
      kind: 'exec',
      address: hook,
      name: 'tcp_v4_connect',
    });
    await guest.domain.fire(key, hookHit(guest, { task, args: [0x1234n, sockaddr, 16n] }));
    expect(events).toEqual([
      expect.objectContaining({
        type: 'network.connect',
        process: expect.objectContaining({ pid: 300, name: 'curl' }),
        user: { id: 1000, group_id: 1000, effective_id: 1000 },
        network: { destination_ip: '203.0.113.7', destination_port: 4444, transport: 'tcp' },
        vmi: { rip: hook, hook: 'tcp_v4_connect' },
      }),
    ]);
  });

  it('ignores a sockaddr that is not IPv4 or too short to be one', async () => {
    const { linux, key, task } = world();
    const ipv6 = linux.sockaddrIn('1.2.3.4', 80, 10);
    const ipv4 = linux.sockaddrIn('1.2.3.4', 80);
    const guest = fakeGuest(linux);
    const { events } = collect(
      networkMonitor.start({ domain: guest.domain, kernel: guest.kernel }),
    );
    await guest.domain.fire(key, hookHit(guest, { task, args: [0n, ipv6, 16n] }));
    await guest.domain.fire(key, hookHit(guest, { task, args: [0n, ipv4, 4n] }));
    expect(events).toEqual([]);
  });

  it('reports a sockaddr pointer it cannot read as an unreadable connection', async () => {
    const { linux, key, task } = world();
    const guest = fakeGuest(linux);
    const { events, errors } = collect(
      networkMonitor.start({ domain: guest.domain, kernel: guest.kernel }),
    );
    await guest.domain.fire(key, hookHit(guest, { task, args: [0n, 0xffff_dead_0000_0000n, 16n] }));
    expect(errors).toEqual([]);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'network.connect',
        details: { error: expect.stringMatching(/^could not read the connection: /) },
      }),
    ]);
  });

  it('parses sockaddr_in and rejects other families', () => {
    expect(parseSockaddrIn(Uint8Array.from([2, 0, 0x1f, 0x90, 10, 0, 0, 1]))).toEqual({
      ip: '10.0.0.1',
      port: 8080,
    });
    expect(parseSockaddrIn(Uint8Array.from([10, 0, 0, 80, 1, 2, 3, 4]))).toBeUndefined();
    expect(parseSockaddrIn(Uint8Array.from([2, 0, 0, 80]))).toBeUndefined();
  });

  it('is refused without tcp_v4_connect or without breakpoints', () => {
    const linux = new FakeLinux();
    const guest = fakeGuest(linux, X86_64, { capabilities: { breakpoints: 'none' } });
    expect(missingRequirements(networkMonitor, guest.kernel, guest.domain)).toHaveLength(2);
  });
});
