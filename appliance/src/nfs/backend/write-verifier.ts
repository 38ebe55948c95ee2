/**
 * The write verifier of a backend (RFC 1813 §3.3.7, §3.3.21): in every
 * WRITE and COMMIT reply; a client that sees it change resends every
 * UNSTABLE write it has not seen committed.
 *
 * Besides a restart, it changes when a WRITE or COMMIT fails with an error
 * that may stand for UNSTABLE data already answered and now lost, as knfsd
 * does: a failed write-back is reported to one fsync only (the kernel's,
 * and the bricks' behind Gluster), and Gluster's write-behind reports a
 * write it could not flush on the file's next write or fsync. A later
 * COMMIT of another client could then succeed over data that is gone;
 * with a new verifier that client resends it instead. Errors about the
 * call itself (permission, a stale handle, a bad size) lose nothing
 * already written and keep the verifier.
 */
import { randomBytes } from 'node:crypto';

const ABOUT_THE_CALL = new Set(['EACCES', 'EPERM', 'ESTALE', 'ENOENT', 'EBADHANDLE', 'EFBIG', 'EINVAL', 'EISDIR', 'EBADF']);

export class WriteVerifier {
  constructor(private value: Buffer = randomBytes(8)) {}

  get current(): Buffer {
    return this.value;
  }

  /** A WRITE or COMMIT failed with `e`: a new verifier unless `e` is about the call. Rethrows `e`. */
  failed(e: unknown): never {
    const code = (e as { code?: unknown } | null)?.code;
    if (typeof code !== 'string' || !ABOUT_THE_CALL.has(code)) {
      let v = randomBytes(8);
      while (v.equals(this.value)) v = randomBytes(8);
      this.value = v;
    }
    throw e;
  }
}
