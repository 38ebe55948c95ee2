/** Which of GET /disks the console offers for a pool. */

export interface DiskLike {
  name?: string;
  path: string;
  sizeBytes?: number;
  type?: string;
  fstype?: string | null;
  pttype?: string | null;
  mountpoint?: string | null;
  mountpoints?: string[];
  readOnly?: boolean;
  pool?: string;
  children?: DiskLike[];
}

/**
 * A disk with no filesystem, no mount and no partitions in use: safe to
 * offer for a pool (after wiping). Loop devices (disks backed by a file)
 * count, since the API takes them; RAM disks and optical drives do not.
 */
export function diskIsSpare(d: DiskLike): boolean {
  const busy = (x: DiskLike): boolean => Boolean(x.mountpoint || x.mountpoints?.length || x.fstype || x.pttype || x.pool || (x.children ?? []).length > 0);
  const virtual = /^(zram|ram|sr|fd)\d/.test(d.name ?? d.path.replace(/^\/dev\//, ''));
  return !busy(d) && !virtual && !d.readOnly && (d.sizeBytes === undefined || d.sizeBytes > 0) && (d.type === undefined || d.type === 'disk' || d.type === 'loop');
}

/** A word for a disk that is not a real one. */
export function diskKind(d: DiskLike): string {
  return d.type === 'loop' ? 'a file (loop device)' : '';
}
