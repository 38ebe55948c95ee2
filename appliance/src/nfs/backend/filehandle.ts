/**
 * NFS file handles (nfs_fh3, RFC 1813 §2.5: opaque, at most 64 bytes).
 *
 *   byte 0      version (1)
 *   byte 1      length of the backend handle (≤ MAX_BACKEND_HANDLE)
 *   bytes 2-5   export id (big-endian u32)
 *   bytes 6-13  MAC: HMAC-SHA256(secret, bytes 0-5 ‖ backend handle), first 8 bytes
 *   bytes 14-   the backend's handle
 *
 * The secret is per data directory, kept in a file (created once, 0600), so
 * handles stay valid across restarts. A handle whose shape or MAC is wrong
 * was not made by this server: NFS3ERR_BADHANDLE. A well-formed handle of
 * an export that no longer exists: NFS3ERR_STALE (RFC 1813 §2.6). The
 * backend then says STALE for objects that are gone.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../../state/atomic.js';
import { MAX_BACKEND_HANDLE, type WireHandleKey } from './backend.js';
import { BackendError } from './errors.js';

export const FH_VERSION = 1;
export const FH_HEADER = 14;
export const NFS3_FHSIZE = 64;
const MAC_BYTES = 8;
const SECRET_BYTES = 32;

export interface DecodedHandle {
  exportId: number;
  backend: Buffer;
}

/**
 * A bounded map of recent results: an HMAC costs microseconds and GETATTR
 * or READDIRPLUS would pay it on every handle. Only handles this codec made
 * or verified are ever entered, keyed by their exact bytes.
 */
class RecentMap<V> {
  private map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined {
    return this.map.get(k);
  }
  set(k: string, v: V): void {
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as string);
    this.map.set(k, v);
  }
}

const CACHE_ENTRIES = 65536;

export class HandleCodec {
  private readonly verified = new RecentMap<DecodedHandle>(CACHE_ENTRIES);
  private readonly made = new RecentMap<Buffer>(CACHE_ENTRIES);

  constructor(private readonly secret: Buffer) {
    if (secret.length < 16) throw new Error('file handle secret is shorter than 16 bytes');
  }

  private mac(head: Buffer, backend: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(head).update(backend).digest().subarray(0, MAC_BYTES);
  }

  encode(exportId: number, backend: Buffer): Buffer {
    const key = `${exportId}:${backend.toString('latin1')}`;
    const known = this.made.get(key);
    if (known) return known;
    if (backend.length > MAX_BACKEND_HANDLE) throw new BackendError('EIO', `backend handle of ${backend.length} bytes is over ${MAX_BACKEND_HANDLE}`);
    const fh = Buffer.allocUnsafe(FH_HEADER + backend.length);
    fh[0] = FH_VERSION;
    fh[1] = backend.length;
    fh.writeUInt32BE(exportId >>> 0, 2);
    this.mac(fh.subarray(0, 6), backend).copy(fh, 6);
    backend.copy(fh, FH_HEADER);
    this.made.set(key, fh);
    this.verified.set(fh.toString('latin1'), { exportId, backend: fh.subarray(FH_HEADER) });
    return fh;
  }

  /**
   * What a backend needs to make this codec's handles itself
   * (Backend.readdirXdr): the same bytes `encode` makes.
   */
  wireKey(exportId: number): WireHandleKey {
    return { exportId, secret: this.secret };
  }

  /** Throws BackendError('EBADHANDLE') for anything this server did not make. */
  decode(fh: Buffer): DecodedHandle {
    const key = fh.toString('latin1');
    const known = this.verified.get(key);
    if (known) return known;
    if (fh.length < FH_HEADER || fh[0] !== FH_VERSION || fh[1] !== fh.length - FH_HEADER) {
      throw new BackendError('EBADHANDLE', 'malformed file handle');
    }
    const backend = fh.subarray(FH_HEADER);
    if (!timingSafeEqual(this.mac(fh.subarray(0, 6), backend), fh.subarray(6, FH_HEADER))) {
      throw new BackendError('EBADHANDLE', 'file handle fails its checksum');
    }
    const decoded = { exportId: fh.readUInt32BE(2), backend: Buffer.from(backend) };
    this.verified.set(key, decoded);
    return decoded;
  }
}

/** Reads the secret at `path`, creating it (atomically, mode 0600) on first use. */
export async function loadHandleSecret(path: string): Promise<Buffer> {
  try {
    const s = await readFile(path);
    if (s.length >= 16) return s;
    throw new Error(`file handle secret ${path} is too short (${s.length} bytes): remove it to make a new one (clients must remount)`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  await mkdir(dirname(path), { recursive: true });
  const secret = randomBytes(SECRET_BYTES);
  // Durably (the directory too): a secret lost in a crash would make every
  // handle the clients hold stale.
  await writeFileAtomic(path, secret, 0o600);
  return secret;
}
