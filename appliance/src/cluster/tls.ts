/**
 * HTTPS between cairnds: each appliance has a self-signed certificate,
 * made at its first start with `openssl` (execFile, argument array) and
 * kept in DATA_DIR/tls/ (cert.pem 0644, key.pem 0600). There is no CA:
 * trust comes from the join token. The token B shows carries a
 * fingerprint of B's certificate (`SECRET.FINGERPRINT`, see `joinTokenWithPin`):
 * A connects to B over TLS, compares B's certificate with it *before*
 * sending anything (the join request carries the cluster's NFS handle
 * secret), and refuses a mismatch (JOIN_CERT_MISMATCH: not the appliance
 * whose token was typed, or someone in between).
 *
 * The pin is the first 16 bytes (128 bits) of the certificate's SHA-256,
 * base32 in groups of four: short enough to type, and finding another
 * certificate with the same 128-bit prefix is out of reach.
 */
import { execFile } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { base32Groups } from './tokens.js';

const run = promisify(execFile);

export interface TlsIdentity {
  cert: string;
  key: string;
  /** Full SHA-256 of the certificate (DER), hex. */
  sha256: string;
  /** The pin carried in join tokens. */
  pin: string;
}


/** Pure: the pin of a certificate given as its DER bytes. */
export function pinOf(der: Buffer): string {
  return base32Groups(createHash('sha256').update(der).digest().subarray(0, 16));
}

const normPin = (p: string) => p.toUpperCase().replace(/[^A-Z2-7]/g, '');

/** Pure: whether `der` is the certificate `pin` names. */
export function pinMatches(der: Buffer, pin: string): boolean {
  return normPin(pinOf(der)) === normPin(pin);
}

/** Pure: "SECRET.PIN" → its parts (no pin: an older token, plain HTTP). */
export function splitJoinToken(token: string): { secret: string; pin?: string } {
  const i = token.indexOf('.');
  if (i < 0) return { secret: token.trim() };
  return { secret: token.slice(0, i).trim(), pin: token.slice(i + 1).trim() };
}

export const joinTokenWithPin = (secret: string, pin: string) => `${secret}.${pin}`;

/** The appliance's certificate, made on first use (EC P-256, 10 years, CN and SAN = host name). */
export async function ensureTlsIdentity(dir: string, hostname: string): Promise<TlsIdentity> {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  let cert: string;
  let key: string;
  try {
    [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmpCert = `${certFile}.new`;
    const tmpKey = `${keyFile}.new`;
    const san = /^[A-Za-z0-9.-]+$/.test(hostname) ? `subjectAltName=DNS:${hostname}` : 'subjectAltName=DNS:cairn';
    await run('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', tmpKey, '-out', tmpCert, '-days', '3650', '-subj', `/CN=${san.slice('subjectAltName=DNS:'.length)}`, '-addext', san,
    ], { timeout: 30_000 });
    await chmod(tmpKey, 0o600);
    // The key first: a crash between the renames leaves no certificate, so the next start makes both again.
    await rename(tmpKey, keyFile);
    await rename(tmpCert, certFile);
    await rm(tmpCert, { force: true });
    [cert, key] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  }
  const der = new X509Certificate(cert).raw;
  return { cert, key, sha256: createHash('sha256').update(der).digest('hex'), pin: pinOf(der) };
}
