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

/** Every mountpoint of a disk and its partitions. */
export function mountsOf(d: DiskLike): string[] {
  return [d.mountpoint, ...(d.mountpoints ?? []), ...(d.children ?? []).flatMap(mountsOf)].filter((m): m is string => !!m);
}

const within = (path: string, mount: string) => path === mount || path.startsWith(mount.endsWith('/') ? mount : `${mount}/`);

/**
 * The disk a brick directory lives on (a brick is `<mount>/brick`), by the
 * disks' mountpoints as this appliance sees them; undefined for bricks of
 * other appliances or on the system disk's root.
 */
export function diskOfBrick(brickPath: string, disks: DiskLike[]): string | undefined {
  let best: { path: string; len: number } | undefined;
  for (const d of disks) {
    for (const m of mountsOf(d)) {
      if (m === '/' || !within(brickPath, m)) continue;
      if (!best || m.length > best.len) best = { path: d.path, len: m.length };
    }
  }
  return best?.path;
}

/** The pool whose bricks sit on disk `d` (one of `disks`), if any. */
export function poolOfDisk(d: DiskLike, pools: Array<{ id: string; bricks?: Array<{ path: string }> }>, disks: DiskLike[]): string | undefined {
  return pools.find((p) => (p.bricks ?? []).some((b) => diskOfBrick(b.path, disks) === d.path))?.id;
}
