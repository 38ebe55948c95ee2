/**
 * Errors, mapped in one place (like ganesha's fsal_convert.c and
 * nfs_convert.c): a backend throws an Error whose `code` is an errno name;
 * `toNfsStat` turns it into nfsstat3 (RFC 1813 §2.6). Unknown codes become
 * NFS3ERR_IO and are logged with the caller, so gaps in the table show.
 */

/** nfsstat3 (RFC 1813 §2.6). */
export const enum nfsstat3 {
  NFS3_OK = 0,
  NFS3ERR_PERM = 1,
  NFS3ERR_NOENT = 2,
  NFS3ERR_IO = 5,
  NFS3ERR_NXIO = 6,
  NFS3ERR_ACCES = 13,
  NFS3ERR_EXIST = 17,
  NFS3ERR_XDEV = 18,
  NFS3ERR_NODEV = 19,
  NFS3ERR_NOTDIR = 20,
  NFS3ERR_ISDIR = 21,
  NFS3ERR_INVAL = 22,
  NFS3ERR_FBIG = 27,
  NFS3ERR_NOSPC = 28,
  NFS3ERR_ROFS = 30,
  NFS3ERR_MLINK = 31,
  NFS3ERR_NAMETOOLONG = 63,
  NFS3ERR_NOTEMPTY = 66,
  NFS3ERR_DQUOT = 69,
  NFS3ERR_STALE = 70,
  NFS3ERR_REMOTE = 71,
  NFS3ERR_BADHANDLE = 10001,
  NFS3ERR_NOT_SYNC = 10002,
  NFS3ERR_BAD_COOKIE = 10003,
  NFS3ERR_NOTSUPP = 10004,
  NFS3ERR_TOOSMALL = 10005,
  NFS3ERR_SERVERFAULT = 10006,
  NFS3ERR_BADTYPE = 10007,
  NFS3ERR_JUKEBOX = 10008,
}

const BY_CODE: Record<string, nfsstat3> = {
  EPERM: nfsstat3.NFS3ERR_PERM,
  ENOENT: nfsstat3.NFS3ERR_NOENT,
  EIO: nfsstat3.NFS3ERR_IO,
  ENXIO: nfsstat3.NFS3ERR_NXIO,
  EACCES: nfsstat3.NFS3ERR_ACCES,
  EEXIST: nfsstat3.NFS3ERR_EXIST,
  EXDEV: nfsstat3.NFS3ERR_XDEV,
  ENODEV: nfsstat3.NFS3ERR_NODEV,
  ENOTDIR: nfsstat3.NFS3ERR_NOTDIR,
  EISDIR: nfsstat3.NFS3ERR_ISDIR,
  EINVAL: nfsstat3.NFS3ERR_INVAL,
  EFBIG: nfsstat3.NFS3ERR_FBIG,
  ENOSPC: nfsstat3.NFS3ERR_NOSPC,
  EROFS: nfsstat3.NFS3ERR_ROFS,
  EMLINK: nfsstat3.NFS3ERR_MLINK,
  ENAMETOOLONG: nfsstat3.NFS3ERR_NAMETOOLONG,
  ENOTEMPTY: nfsstat3.NFS3ERR_NOTEMPTY,
  EDQUOT: nfsstat3.NFS3ERR_DQUOT,
  ESTALE: nfsstat3.NFS3ERR_STALE,
  EBADHANDLE: nfsstat3.NFS3ERR_BADHANDLE,
  ENOT_SYNC: nfsstat3.NFS3ERR_NOT_SYNC,
  EBADCOOKIE: nfsstat3.NFS3ERR_BAD_COOKIE,
  ENOTSUPP: nfsstat3.NFS3ERR_NOTSUPP,
  EOPNOTSUPP: nfsstat3.NFS3ERR_NOTSUPP,
  ENOSYS: nfsstat3.NFS3ERR_NOTSUPP,
  ETOOSMALL: nfsstat3.NFS3ERR_TOOSMALL,
  EBADTYPE: nfsstat3.NFS3ERR_BADTYPE,
  EJUKEBOX: nfsstat3.NFS3ERR_JUKEBOX,
  EAGAIN: nfsstat3.NFS3ERR_JUKEBOX,
  ENOTCONN: nfsstat3.NFS3ERR_JUKEBOX,
  ELOOP: nfsstat3.NFS3ERR_INVAL,
  ETXTBSY: nfsstat3.NFS3ERR_ACCES,
  EOVERFLOW: nfsstat3.NFS3ERR_FBIG,
};

/** An error a backend (or the server) raises on purpose, with its errno-style code. */
export class BackendError extends Error {
  constructor(
    readonly code: string,
    message?: string,
  ) {
    super(message ?? code);
    this.name = 'BackendError';
  }
}

/**
 * nfsstat3 for an error thrown by a backend. `onUnknown` is told of every
 * error that falls back to NFS3ERR_IO (or SERVERFAULT for non-OS errors).
 */
export function toNfsStat(err: unknown, onUnknown?: (err: unknown) => void): nfsstat3 {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in BY_CODE) return BY_CODE[code]!;
  onUnknown?.(err);
  return typeof code === 'string' && code.startsWith('E') ? nfsstat3.NFS3ERR_IO : nfsstat3.NFS3ERR_SERVERFAULT;
}
