// The syslog destination against local sockets: octet-counted framing on TCP, one datagram per message
// on UDP, oversized datagrams dead-lettered, a dropped connection reopened. rsyslog itself is in
// syslog.integration.test.ts.
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { privilegeFinding, rootkitFinding, syntheticFinding } from '../test-support/findings.js';
import { createSyslogDestination } from './destination.js';

const observer = { hostname: 'hv-1', version: '0.1.0' };

/** Splits an octet-counted stream (RFC 6587) into messages; throws on a malformed frame. */
function deframe(stream: Buffer): string[] {
  const messages: string[] = [];
  let offset = 0;
  while (offset < stream.length) {
    const space = stream.indexOf(0x20, offset);
    const length = Number(stream.toString('ascii', offset, space));
    if (!Number.isInteger(length) || length <= 0) throw new Error(`bad frame at ${offset}`);
    messages.push(stream.toString('utf8', space + 1, space + 1 + length));
    offset = space + 1 + length;
  }
  return messages;
}

describe('syslog destination', () => {
  it('frames each message with its byte length over TCP, multi-byte characters included', async () => {
    const received: Buffer[] = [];
    const sockets: Socket[] = [];
    const server = createServer((socket) => {
      sockets.push(socket);
      socket.on('data', (chunk) => received.push(chunk));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const destination = createSyslogDestination({
      host: '127.0.0.1',
      port,
      transport: 'tcp',
      observer,
    });
    const unicode = { ...syntheticFinding(1), message: 'grüße → ✓ 多字节' };
    const batch = [rootkitFinding, privilegeFinding, unicode].map((finding) =>
      destination.encode(finding),
    );
    expect(await destination.send(batch)).toEqual({ retry: [], rejected: [] });

    // The receiver drops the connection; the next batch opens a new one.
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await destination.send([destination.encode(syntheticFinding(2))])).toEqual({
      retry: [],
      rejected: [],
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await destination.close();
    await new Promise((resolve) => server.close(resolve));

    const messages = deframe(Buffer.concat(received));
    expect(messages).toEqual(
      [...batch, destination.encode(syntheticFinding(2))].map((record) => record.body),
    );
    expect(messages[2]).toContain('grüße → ✓ 多字节');
    expect(sockets).toHaveLength(2);
  });

  it('sends one datagram per message over UDP and dead-letters one too large', async () => {
    const receiver = createSocket('udp4');
    const datagrams: string[] = [];
    receiver.on('message', (message) => datagrams.push(message.toString()));
    await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve));
    const destination = createSyslogDestination({
      host: '127.0.0.1',
      port: receiver.address().port,
      transport: 'udp',
      observer,
      maxDatagramBytes: 600,
    });
    const large = { ...syntheticFinding(3), message: 'x'.repeat(1000) };
    const batch = [syntheticFinding(1), large, syntheticFinding(2)].map((finding) =>
      destination.encode(finding),
    );
    const outcome = await destination.send(batch);
    expect(outcome.retry).toEqual([]);
    expect(outcome.rejected).toEqual([
      { index: 1, reason: expect.stringMatching(/exceeds the 600-byte datagram limit/) },
    ]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await destination.close();
    receiver.close();
    expect(datagrams.sort()).toEqual([batch[0]!.body, batch[2]!.body].sort());
  });

  it('refuses a port out of range', () => {
    expect(() =>
      createSyslogDestination({ host: 'h', port: 70000, transport: 'udp', observer }),
    ).toThrow(/port/);
  });
});
