// One small HTTP(S) request helper for the sinks that speak HTTP without a vendor client (Splunk HEC):
// a CA file for TLS, a timeout, and the answer as status and text.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpOptions {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  ca?: Buffer;
  verify?: boolean;
  timeoutMs?: number;
}

export interface HttpAnswer {
  status: number;
  text: string;
}

export function request(url: URL, options: HttpOptions): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const outgoing = send(
      url,
      {
        method: options.method,
        headers: {
          ...(options.body !== undefined
            ? { 'content-length': Buffer.byteLength(options.body) }
            : {}),
          ...options.headers,
        },
        ca: options.ca,
        rejectUnauthorized: options.verify ?? true,
        timeout: options.timeoutMs ?? 30_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('timeout', () =>
      outgoing.destroy(new Error(`no answer within ${options.timeoutMs ?? 30_000} ms`)),
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}
