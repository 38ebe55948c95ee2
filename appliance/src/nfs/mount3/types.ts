/** MOUNT v3 wire types (RFC 1813 appendix I). */
export const MOUNT_PROGRAM = 100005;
export const MOUNT_V3 = 3;
/** MNTPATHLEN and MNTNAMLEN. */
export const MNTPATHLEN = 1024;
export const MNTNAMLEN = 255;

export const enum mountstat3 {
  MNT3_OK = 0,
  MNT3ERR_PERM = 1,
  MNT3ERR_NOENT = 2,
  MNT3ERR_IO = 5,
  MNT3ERR_ACCES = 13,
  MNT3ERR_NOTDIR = 20,
  MNT3ERR_INVAL = 22,
  MNT3ERR_NAMETOOLONG = 63,
  MNT3ERR_NOTSUPP = 10004,
  MNT3ERR_SERVERFAULT = 10006,
}

/** The key of a client in the mount list. */
export function mountKey(address: string): string {
  return address;
}
