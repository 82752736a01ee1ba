// Syslog as a destination: RFC 5424 messages over UDP (one per datagram), TCP with octet-counting
// framing (RFC 6587) or TLS (RFC 5425, CA verified). Syslog has no application-level acknowledgement:
// a batch counts as sent once the kernel took the bytes of a healthy connection (see docs/sinks.md).
import { createSocket } from 'node:dgram';
import type { Socket as DatagramSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import type { Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { Finding } from '../../introspect/events/finding.js';
import { InputError } from '../../introspect/errors.js';
import type { Observer } from '../ecs/document.js';
import { SinkError } from '../errors.js';
import type { DeliveryOutcome, Destination, EncodedFinding } from '../types.js';
import { formatFindingSyslog } from './message.js';
import { Pacer } from './pacer.js';
import type { SyslogFormat } from './message.js';

export type SyslogTransport = 'udp' | 'tcp' | 'tls';

export interface SyslogOptions {
  host: string;
  port: number;
  transport: SyslogTransport;
  /** 'structured' (RFC 5424 structured data, default) or 'cef'. */
  format?: SyslogFormat;
  observer: Observer;
  facility?: number;
  appName?: string;
  enterpriseId?: number;
  tls?: {
    /** PEM file of the CA that signed the receiver's certificate. */
    caFile?: string;
    /** Name to verify in the certificate; default host. */
    serverName?: string;
    verify?: boolean;
  };
  /** Largest datagram for UDP; larger messages are dead-lettered. Default 8192 (rsyslog's default). */
  maxDatagramBytes?: number;
  /**
   * UDP only: datagrams per second at most (default 2000), so that a burst does not overrun the
   * receiver's socket buffer, where loss is silent. 0 turns pacing off.
   */
  datagramsPerSecond?: number;
  connectTimeoutMs?: number;
}

export function createSyslogDestination(options: SyslogOptions): Destination {
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535)
    throw new InputError('port must be 1–65535', `syslog port ${options.port}`);
  const name = `syslog:${options.transport}://${options.host}:${options.port}`;
  const format = options.format ?? 'structured';
  const maxDatagram = options.maxDatagramBytes ?? 8192;
  const ca = options.tls?.caFile !== undefined ? readFileSync(options.tls.caFile) : undefined;
  let stream: Socket | undefined;
  /** The connection being opened: concurrent batches share it, so there is one per destination. */
  let connecting: Promise<Socket> | undefined;
  let datagram: DatagramSocket | undefined;
  const rate = options.datagramsPerSecond ?? 2000;
  const pacer = rate > 0 ? new Pacer(rate) : undefined;

  const unavailable = (message: string, cause?: unknown) =>
    new SinkError(name, 'UNAVAILABLE', message, { cause });

  const openStream = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const onError = (error: Error) => {
        socket.destroy();
        reject(unavailable(`cannot connect: ${error.message}`, error));
      };
      const socket =
        options.transport === 'tls'
          ? connectTls({
              host: options.host,
              port: options.port,
              ca,
              servername: options.tls?.serverName ?? options.host,
              rejectUnauthorized: options.tls?.verify ?? true,
            })
          : connectTcp({ host: options.host, port: options.port });
      socket.setTimeout(options.connectTimeoutMs ?? 10_000, () =>
        onError(new Error('connect timeout')),
      );
      socket.once('error', onError);
      socket.once(options.transport === 'tls' ? 'secureConnect' : 'connect', () => {
        socket.setTimeout(0);
        socket.off('error', onError);
        socket.setKeepAlive(true);
        // A reset or close between batches is seen here; the next send reconnects.
        socket.on('error', () => socket.destroy());
        socket.on('close', () => {
          if (stream === socket) stream = undefined;
        });
        resolve(socket);
      });
    });

  const sendStream = async (batch: readonly EncodedFinding[]): Promise<DeliveryOutcome> => {
    if (!stream) {
      connecting ??= openStream().finally(() => {
        connecting = undefined;
      });
      stream = await connecting;
    }
    const socket = stream;
    // RFC 6587 octet counting: "<length> <message>", length in bytes.
    const frames = batch
      .map((record) => `${Buffer.byteLength(record.body)} ${record.body}`)
      .join('');
    await new Promise<void>((resolve, reject) => {
      const onClose = () => reject(unavailable('connection closed while sending'));
      socket.once('close', onClose);
      socket.write(frames, (error) => {
        socket.off('close', onClose);
        if (error) {
          socket.destroy();
          reject(unavailable(`write failed: ${error.message}`, error));
        } else resolve();
      });
    });
    if (socket.destroyed) throw unavailable('connection closed while sending');
    return { retry: [], rejected: [] };
  };

  const sendDatagrams = async (batch: readonly EncodedFinding[]): Promise<DeliveryOutcome> => {
    datagram ??= createSocket(options.host.includes(':') ? 'udp6' : 'udp4');
    const socket = datagram;
    const outcome: DeliveryOutcome = { retry: [], rejected: [] };
    for (const [index, record] of batch.entries()) {
      const bytes = Buffer.from(record.body);
      if (bytes.length > maxDatagram) {
        outcome.rejected.push({
          index,
          reason: `message of ${bytes.length} bytes exceeds the ${maxDatagram}-byte datagram limit`,
        });
        continue;
      }
      await pacer?.take();
      const error = await new Promise<Error | null>((resolve) =>
        socket.send(bytes, options.port, options.host, resolve),
      );
      if (error) {
        // The datagrams before this one left: only this one and the rest go again (no duplicates).
        if (index === 0) throw unavailable(`send failed: ${error.message}`, error);
        for (let rest = index; rest < batch.length; rest++)
          outcome.retry.push({ index: rest, reason: `send failed: ${error.message}` });
        return outcome;
      }
    }
    return outcome;
  };

  return {
    name,
    encode(finding: Finding): EncodedFinding {
      return {
        id: finding.id,
        body: formatFindingSyslog(finding, {
          format,
          observer: options.observer,
          facility: options.facility,
          appName: options.appName,
          enterpriseId: options.enterpriseId,
        }),
      };
    },
    send: (batch) => (options.transport === 'udp' ? sendDatagrams(batch) : sendStream(batch)),
    async close(): Promise<void> {
      if (connecting) stream = await connecting.catch(() => undefined);
      if (stream) {
        const socket = stream;
        stream = undefined;
        await new Promise<void>((resolve) => socket.end(() => resolve()));
        socket.destroy();
      }
      if (datagram) {
        datagram.close();
        datagram = undefined;
      }
    },
  };
}
