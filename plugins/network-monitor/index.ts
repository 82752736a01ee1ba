// network.connect events: outgoing TCP/IPv4 connections, read at tcp_v4_connect(sk, uaddr, len)
// from the sockaddr_in the caller passed (whether or not a route exists: the attempt is the event).
import type { Observable } from 'rxjs';
import type { VmiEvent } from '../../introspect/events/event.js';
import { argument } from '../../introspect/arch/index.js';
import { currentTaskLocator } from '../../introspect/os/linux/current-task.js';
import {
  currentTaskOf,
  envelope,
  hookEvents,
  processFields,
  unreadable,
  userFields,
} from '../guest-context.js';
import type { DetectorPlugin, PluginContext } from '../types.js';

const AF_INET = 2;

/** sockaddr_in: family (u16), port (big-endian u16), address (4 bytes, network order). */
export function parseSockaddrIn(bytes: Uint8Array): { ip: string; port: number } | undefined {
  if (bytes.length < 8) return undefined;
  if ((bytes[0]! | (bytes[1]! << 8)) !== AF_INET) return undefined;
  return { port: (bytes[2]! << 8) | bytes[3]!, ip: Array.from(bytes.subarray(4, 8)).join('.') };
}

export const networkMonitor: DetectorPlugin = {
  meta: {
    id: 'network-monitor',
    version: '1.0.0',
    description:
      'Outgoing TCP/IPv4 connection attempts (process, destination), from tcp_v4_connect',
    architectures: ['x86_64', 'aarch64'],
    symbols: ['tcp_v4_connect'],
    capabilities: { live: [true], breakpoints: ['hidden', 'int3', 'debugger'] },
    emits: ['network.connect'],
  },
  start({ domain, kernel }: PluginContext): Observable<VmiEvent> {
    const address = kernel.symbols.address('tcp_v4_connect')!;
    const locator = currentTaskLocator(kernel);
    return hookEvents(
      domain,
      { kind: 'exec', address, name: 'tcp_v4_connect' },
      ({ event }) => {
        // tcp_v4_connect(sk, uaddr, addr_len)
        const length = Number(argument(kernel.arch, event, 2) & 0xffffffffn);
        if (length < 8) return undefined;
        const destination = parseSockaddrIn(
          kernel.reader.bytes(argument(kernel.arch, event, 1), 8),
        );
        if (!destination) return undefined;
        const task = currentTaskOf(kernel, event, locator);
        return {
          type: 'network.connect',
          ...envelope(event),
          process: processFields(kernel, task),
          user: userFields(task),
          network: {
            destination_ip: destination.ip,
            destination_port: destination.port,
            transport: 'tcp',
          },
          vmi: { rip: address, hook: 'tcp_v4_connect' },
        };
      },
      (event, error) => unreadable('network.connect', event, 'the connection', error),
    );
  },
};
