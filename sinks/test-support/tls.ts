// A throw-away certificate authority and a server certificate for 127.0.0.1/localhost, made with
// GnuTLS certtool (Debian package gnutls-bin), for TLS tests on loopback.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCertificates {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export function makeTestCertificates(directory: string): TestCertificates {
  const file = (name: string) => join(directory, name);
  writeFileSync(
    file('ca.tmpl'),
    'cn = "Ringside Test CA"\nca\ncert_signing_key\nexpiration_days = 2\n',
  );
  writeFileSync(
    file('server.tmpl'),
    'cn = "localhost"\ndns_name = "localhost"\nip_address = "127.0.0.1"\ntls_www_server\nencryption_key\nsigning_key\nexpiration_days = 2\n',
  );
  const certtool = (...args: string[]) => execFileSync('certtool', args, { stdio: 'pipe' });
  certtool(
    '--generate-privkey',
    '--key-type',
    'rsa',
    '--bits',
    '2048',
    '--outfile',
    file('ca.key'),
  );
  certtool(
    '--generate-self-signed',
    '--load-privkey',
    file('ca.key'),
    '--template',
    file('ca.tmpl'),
    '--outfile',
    file('ca.pem'),
  );
  certtool(
    '--generate-privkey',
    '--key-type',
    'rsa',
    '--bits',
    '2048',
    '--outfile',
    file('server.key'),
  );
  certtool(
    '--generate-certificate',
    '--load-privkey',
    file('server.key'),
    '--load-ca-certificate',
    file('ca.pem'),
    '--load-ca-privkey',
    file('ca.key'),
    '--template',
    file('server.tmpl'),
    '--outfile',
    file('server.pem'),
  );
  return { caFile: file('ca.pem'), certFile: file('server.pem'), keyFile: file('server.key') };
}
