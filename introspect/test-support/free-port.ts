// A loopback TCP port nobody listens on right now, for the real servers tests start (rsyslogd,
// nats-server): the system picks it, the probe closes, the server is told to use it.
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
