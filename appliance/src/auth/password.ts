/**
 * Passwords: scrypt (node:crypto, async, so the event loop keeps serving)
 * in a self-describing string `scrypt$N$r$p$salt$hash` (base64), verified in
 * constant time; and Samba's NT hash (MD4 of the UTF-16LE password, hex,
 * computed by smb/users.ts), which smbd needs for NTLM and which the SMB
 * driver loads into passdb.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const scrypt = (pw: string, salt: Buffer, len: number, o: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(pw, salt, len, o, (err, key) => (err ? reject(err) : resolve(key))));

export const SCRYPT_DEFAULTS = { N: 16384, r: 8, p: 1 };
const KEY_LEN = 32;

export const MIN_PASSWORD_LENGTH = 8;

export async function hashPassword(password: string, params = SCRYPT_DEFAULTS): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LEN, { ...params, maxmem: 256 * params.N * params.r });
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![N, r, p].every((x) => Number.isInteger(x) && x > 0) || N > 1 << 20) return false;
  const salt = Buffer.from(parts[4]!, 'base64');
  const want = Buffer.from(parts[5]!, 'base64');
  if (want.length === 0) return false;
  const got = await scrypt(password, salt, want.length, { N, r, p, maxmem: 256 * N * r });
  return timingSafeEqual(got, want);
}

/** A hash no password matches, verified against when a user does not exist (same timing). */
export const DUMMY_HASH = `scrypt$${SCRYPT_DEFAULTS.N}$${SCRYPT_DEFAULTS.r}$${SCRYPT_DEFAULTS.p}$AAAAAAAAAAAAAAAAAAAAAA==$${Buffer.alloc(KEY_LEN).toString('base64')}`;

/** Samba's NT hash (MD4 over the UTF-16LE password, hex): the SMB driver's own, so both sides agree. */
export { ntHash } from '../smb/users.js';
