// Starts a real rsyslogd for a test: its own config and work directory under a temporary directory,
// loopback only, unprivileged ports, UDP + TCP + TLS inputs, everything received written to a file with
// the fields rsyslog parsed (so the test sees what rsyslog understood, not just the bytes).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestCertificates } from '../../test-support/tls.js';
import { freePort } from '../../../introspect/test-support/free-port.js';

export interface Rsyslog {
  udpPort: number;
  tcpPort: number;
  tlsPort: number;
  outputFile: string;
  /** Parsed lines: pri|hostname|app-name|procid|msgid|structured-data|msg */
  lines(): string[];
  waitForLines(count: number, timeoutMs?: number): Promise<string[]>;
  stop(): Promise<void>;
}

export async function startRsyslog(
  directory: string,
  certificates: TestCertificates,
  /** Ports to reuse (to restart a receiver where a sink expects it); free ports by default. */
  ports?: { udpPort: number; tcpPort: number; tlsPort: number },
): Promise<Rsyslog> {
  const { udpPort, tcpPort, tlsPort } = ports ?? {
    udpPort: await freePort(),
    tcpPort: await freePort(),
    tlsPort: await freePort(),
  };
  const outputFile = join(directory, 'received.log');
  const config = join(directory, 'rsyslog.conf');
  writeFileSync(
    config,
    `global(workDirectory="${directory}" maxMessageSize="64k"
  defaultNetstreamDriverCAFile="${certificates.caFile}"
  defaultNetstreamDriverCertFile="${certificates.certFile}"
  defaultNetstreamDriverKeyFile="${certificates.keyFile}")
module(load="imudp")
module(load="imtcp" maxSessions="50")
template(name="parsed" type="string"
  string="%pri%|%hostname%|%app-name%|%procid%|%msgid%|%structured-data%|%msg%\\n")
ruleset(name="received") {
  action(type="omfile" file="${outputFile}" template="parsed" flushOnTXEnd="on" asyncWriting="off")
}
input(type="imudp" address="127.0.0.1" port="${udpPort}" ruleset="received")
input(type="imtcp" address="127.0.0.1" port="${tcpPort}" ruleset="received")
input(type="imtcp" address="127.0.0.1" port="${tlsPort}" ruleset="received"
  streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
`,
  );
  const pidFile = join(directory, 'rsyslogd.pid');
  const child: ChildProcess = spawn('rsyslogd', ['-n', '-f', config, '-i', pidFile], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // Ready once every port accepts connections (UDP is bound with the others).
  const deadline = Date.now() + 10_000;
  const { connect } = await import('node:net');
  const accepts = (port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
  while (!((await accepts(tcpPort)) && (await accepts(tlsPort)))) {
    if (child.exitCode !== null || Date.now() > deadline)
      throw new Error(`rsyslogd did not start (exit ${child.exitCode}): ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const lines = () =>
    existsSync(outputFile) ? readFileSync(outputFile, 'utf8').split('\n').filter(Boolean) : [];
  return {
    udpPort,
    tcpPort,
    tlsPort,
    outputFile,
    lines,
    async waitForLines(count, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      while (lines().length < count && Date.now() < until)
        await new Promise((resolve) => setTimeout(resolve, 50));
      return lines();
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
