/**
 * Throwaway TLS material for TLS tests: a CA and a server certificate for 127.0.0.1/localhost,
 * generated with the openssl CLI at test time (nothing secret is checked in, nothing expires in
 * the repository).
 *
 * @packageDocumentation
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Files and PEM of a generated CA + server certificate. */
export interface TlsMaterial {
  /** The CA certificate (PEM), for a client's `tls: { ca }`. */
  readonly caPem: string;
  /** Server certificate (PEM file), signed by the CA, SAN `DNS:localhost, IP:127.0.0.1`. */
  readonly certPath: string;
  /** Server private key (PEM file). */
  readonly keyPath: string;
  /** CA certificate (PEM file). */
  readonly caPath: string;
}

// P-256 keys: generated in milliseconds, where RSA keys cost noticeable time on a slow machine
const EC_KEY = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';

const SERVER_EXTENSIONS = [
  'basicConstraints=CA:FALSE',
  'keyUsage=critical,digitalSignature,keyEncipherment',
  'extendedKeyUsage=serverAuth',
  'subjectAltName=DNS:localhost,IP:127.0.0.1',
].join('\n');

/** Runs openssl in `dir`; `command` is split on whitespace (no argument here contains any). */
async function openssl(dir: string, command: string): Promise<void> {
  const args = command.trim().split(/\s+/);
  try {
    await run('openssl', args, { cwd: dir });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error(
        'TLS tests need the openssl CLI on PATH: apt-get install -y openssl (Debian/Ubuntu) or brew install openssl (macOS)',
      );
    throw new Error(`openssl ${args[0] ?? ''} failed: ${e.stderr ?? e.message}`);
  }
}

/**
 * Generates a CA and a server certificate for 127.0.0.1/localhost in `dir`.
 *
 * @param dir - an existing folder; files `ca.crt`, `ca.key`, `server.crt`, `server.key` are
 *   written there
 * @returns the paths and the CA's PEM
 */
export async function generateTlsMaterial(dir: string): Promise<TlsMaterial> {
  await openssl(
    dir,
    `req -x509 -new ${EC_KEY} -keyout ca.key -out ca.crt -days 2 -subj /CN=mamey-redis-test-ca
     -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign`,
  );
  await openssl(dir, `req -new ${EC_KEY} -keyout server.key -out server.csr -subj /CN=localhost`);
  await fs.writeFile(path.join(dir, 'server.ext'), SERVER_EXTENSIONS);
  await openssl(
    dir,
    `x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial
     -out server.crt -days 2 -extfile server.ext`,
  );
  const caPath = path.join(dir, 'ca.crt');
  return {
    caPem: await fs.readFile(caPath, 'utf8'),
    certPath: path.join(dir, 'server.crt'),
    keyPath: path.join(dir, 'server.key'),
    caPath,
  };
}
