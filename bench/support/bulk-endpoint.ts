// A minimal local bulk endpoint for the sinks benchmark, run in a worker thread so that it does not
// share the event loop with the sink: reads each action line's _id, answers 201 (or 409 for an _id it
// has), and can go down and up on command. Just enough Elasticsearch for the client's product check.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { parentPort } from 'node:worker_threads';

/**
 * CPU time of this thread alone (Linux: /proc/thread-self, read by this thread), or NaN elsewhere:
 * the benchmark tells the endpoint's CPU from the sink's.
 */
function threadCpuSeconds(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, fields 14 and 15 of stat (11 and 12 after the name), in clock ticks of 1/100 s.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

const ids = new Set<string>();
const sockets = new Set<Socket>();
let port = 0;

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const headers = { 'content-type': 'application/json', 'x-elastic-product': 'Elasticsearch' };
    if (!request.url?.includes('_bulk')) {
      response.writeHead(200, headers).end('{"acknowledged":true}');
      return;
    }
    // Only the action lines are decoded (as Elasticsearch would run elsewhere, this worker shares the
    // benchmark's CPU: it should cost little next to the sink it measures).
    const body = Buffer.concat(chunks);
    const items: string[] = [];
    let errors = false;
    let start = 0;
    let action = true;
    while (start < body.length) {
      let end = body.indexOf(0x0a, start);
      if (end < 0) end = body.length;
      if (action) {
        const line = body.toString('utf8', start, end);
        const at = line.indexOf('"_id":"') + 7;
        const id = line.slice(at, line.indexOf('"', at));
        if (ids.has(id)) {
          errors = true;
          items.push(
            `{"create":{"_id":"${id}","status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists"}}}`,
          );
        } else {
          ids.add(id);
          items.push(`{"create":{"_id":"${id}","status":201}}`);
        }
      }
      action = !action;
      start = end + 1;
    }
    response
      .writeHead(200, headers)
      .end(`{"took":1,"errors":${errors},"items":[${items.join(',')}]}`);
  });
});
server.keepAliveTimeout = 60_000;
server.on('connection', (socket: Socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});

const listen = () =>
  new Promise<void>((resolve) =>
    server.listen(port, '127.0.0.1', () => {
      port = (server.address() as AddressInfo).port;
      resolve();
    }),
  );

parentPort!.on('message', (command: string) => {
  if (command === 'down') {
    server.close(() => parentPort!.postMessage({ down: true }));
    for (const socket of sockets) socket.destroy();
  } else if (command === 'up') {
    void listen().then(() => parentPort!.postMessage({ up: true }));
  } else if (command === 'cpu') {
    parentPort!.postMessage({ cpu: threadCpuSeconds() });
  } else if (command === 'count') {
    parentPort!.postMessage({ count: ids.size });
  }
});

await listen();
parentPort!.postMessage({ port });
