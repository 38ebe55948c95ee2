/**
 * Brick disks across reboots: which filesystem belongs under which brick
 * mount point, mounting it again on start, and whether a brick that is
 * down can safely be restarted.
 *
 * prepareBrick (disks.ts) records each brick disk beside its mount point:
 * DATA_DIR/bricks/<id>.json holds the XFS filesystem UUID (and, for
 * people, the /dev name it had then). /dev names change across boots
 * (sdb becomes sdc when a disk is added; loop numbers are handed out
 * afresh), the UUID does not, so the disk is found again by probing for
 * it (`blkid -t UUID=…`, without blkid's cache).
 * The record lives on the root filesystem, beside (not inside) the mount
 * point, so it is there when the disk is not.
 *
 * Never let glusterd write into a bare mount point. What this relies on,
 * measured on glusterd 10.3:
 *  - The brick directory is `<mount point>/brick`. A mount point whose
 *    disk is absent has no `brick` directory: `volume start` then fails
 *    ("Failed to find brick directory"), and `volume start … force`
 *    skips that brick, so nothing is created on the root filesystem.
 *  - Gluster's own brick-root check (the `trusted.glusterfs.volume-id`
 *    xattr) is NOT a safety net under `force`: glusterd re-creates the
 *    xattr on any existing directory it finds. So before every `start
 *    force` the driver checks (bricksSafeToForce) that no brick directory
 *    of this host sits on a mount point whose disk is not mounted — if
 *    someone made `brick` in the bare directory, the restart is refused
 *    and reported instead.
 *  - A mount point counts as mounted when /proc/self/mountinfo lists it.
 *
 * The pool's desired state also names each brick's filesystem UUID (when
 * Cairn prepared the disk), so the state, not only the record on this
 * root filesystem, says which disk is the brick: a lost record (root
 * filesystem reinstalled) is written again from the state, and a record
 * or a mounted filesystem with another UUID (the disk was swapped, or
 * another disk was prepared under the same id) is reported and never
 * mounted or started as the brick (brickIdentity).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../../state/atomic.js';
import { GlusterError } from './errors.js';

export interface BrickRecord {
  /** The brick id: the mount point's directory name. */
  id: string;
  /** XFS filesystem UUID (what the disk is found by). */
  fsUuid: string;
  /** The /dev name when the brick was prepared (informative only). */
  device: string;
  mountPoint: string;
  brickDir: string;
  preparedAt: string;
}

const run = (file: string, args: string[], timeoutMs = 60_000): Promise<{ code: number; out: string }> =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, out: stdout });
      const e = err as NodeJS.ErrnoException & { killed?: boolean };
      if (e.code === 'ENOENT') return reject(new GlusterError('GLUSTER_NOT_INSTALLED', `${file} not found`));
      if (e.killed) return reject(new GlusterError('GLUSTER_TIMEOUT', `${file} ${args.join(' ')}: timed out`));
      resolve({ code: typeof e.code === 'number' ? e.code : 1, out: `${stdout}${stderr}`.trim() });
    });
  });

/** Where the record of a brick whose directory is `brickDir` lives (undefined: not a Cairn brick layout). */
export function recordPathOf(brickDir: string): string | undefined {
  if (basename(brickDir) !== 'brick') return undefined;
  return `${dirname(brickDir)}.json`;
}

/** The filesystem UUID on a device, probed on the device itself. */
export async function filesystemUuid(device: string): Promise<string> {
  const r = await run('blkid', ['-p', '-o', 'value', '-s', 'UUID', device]);
  const uuid = r.out.trim();
  if (r.code !== 0 || !/^[0-9a-fA-F-]{8,}$/.test(uuid)) throw new GlusterError('GLUSTER_FAILED', `blkid -p ${device}: no filesystem UUID (${r.out || `exit ${r.code}`})`);
  return uuid;
}

/** Writes the record of a freshly prepared brick (temp file, then rename). */
export async function writeBrickRecord(rec: BrickRecord): Promise<void> {
  const path = recordPathOf(rec.brickDir);
  if (!path) throw new GlusterError('INVALID_ARGUMENT', `${rec.brickDir} is not <mount point>/brick`);
  await writeFileAtomic(path, `${JSON.stringify(rec, null, 2)}\n`, 0o600);
}

export async function removeBrickRecord(brickDir: string): Promise<void> {
  const path = recordPathOf(brickDir);
  if (path) await unlink(path).catch(() => undefined);
}

/** The record of the brick at `brickDir`, or undefined when it has none (not prepared by Cairn on this machine). */
export async function readBrickRecord(brickDir: string): Promise<BrickRecord | undefined> {
  const path = recordPathOf(brickDir);
  if (!path) return undefined;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  const rec = JSON.parse(text) as BrickRecord;
  if (typeof rec.fsUuid !== 'string' || rec.brickDir !== brickDir) {
    throw new GlusterError('GLUSTER_BAD_OUTPUT', `${path}: not the record of ${brickDir}`);
  }
  return rec;
}

/**
 * Pure: which disk a brick is, from the pool's state (`wanted`, undefined
 * for bricks prepared before the state recorded it), the record beside
 * the mount point and the filesystem mounted there now (undefined: none,
 * or not known).
 */
export function brickIdentity(wanted: string | undefined, recorded: string | undefined, mounted: string | undefined): 'ok' | 'record-differs' | 'mounted-differs' {
  if (wanted === undefined) return 'ok';
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  if (recorded !== undefined && !same(recorded, wanted)) return 'record-differs';
  if (mounted !== undefined && !same(mounted, wanted)) return 'mounted-differs';
  return 'ok';
}

/**
 * Writes the record of a brick again from the pool's state (the record
 * was lost with the root filesystem): same layout as prepareBrick's, the
 * /dev name unknown. The empty mount point is made too.
 */
export async function restoreBrickRecord(brickDir: string, fsUuid: string): Promise<BrickRecord | undefined> {
  const path = recordPathOf(brickDir);
  if (!path) return undefined;
  const mountPoint = dirname(brickDir);
  await mkdir(mountPoint, { recursive: true, mode: 0o755 });
  const rec: BrickRecord = { id: basename(mountPoint), fsUuid, device: '', mountPoint, brickDir, preparedAt: new Date().toISOString() };
  await writeBrickRecord(rec);
  return rec;
}

/** Pure: /proc/self/mountinfo → mount point → mount source (the device), octal escapes undone. */
export function parseMountSources(text: string): Map<string, string> {
  const un = (x: string) => x.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (f.length > 4 && sep > 0 && f.length > sep + 2) out.set(un(f[4]!), un(f[sep + 2]!));
  }
  return out;
}

/** The filesystem UUID of what is mounted at `mountPoint`; undefined when nothing is, or it cannot be probed. */
export async function mountedFilesystemUuid(mountPoint: string): Promise<string | undefined> {
  const source = parseMountSources(await readFile('/proc/self/mountinfo', 'utf8')).get(mountPoint);
  if (!source?.startsWith('/dev/')) return undefined;
  return filesystemUuid(source).catch(() => undefined);
}

/** Pure: /proc/self/mountinfo → mount points (octal escapes undone). */
export function parseMountinfo(text: string): Set<string> {
  const points = new Set<string>();
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length > 4) points.add(f[4]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return points;
}

export async function mountPoints(): Promise<Set<string>> {
  return parseMountinfo(await readFile('/proc/self/mountinfo', 'utf8'));
}

const exists = (p: string) => stat(p).then(() => true, () => false);

/**
 * The block device holding the filesystem `fsUuid`, by probing every
 * device (`-c /dev/null`: blkid's cache file remembers the /dev names of
 * an earlier boot, which is the very thing that changed). Undefined when
 * no attached device has it.
 */
export async function deviceOf(fsUuid: string): Promise<string | undefined> {
  const found = await run('blkid', ['-c', '/dev/null', '-o', 'device', '-t', `UUID=${fsUuid}`]);
  const devices = found.out.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('/dev/'));
  return found.code === 0 && devices.length === 1 ? devices[0] : undefined;
}

export type MountOutcome =
  | { state: 'mounted' }
  | { state: 'mounted-now'; device: string }
  | { state: 'disk-missing'; fsUuid: string }
  | { state: 'failed'; message: string };

/**
 * Mounts a recorded brick disk at its mount point unless something is
 * mounted there already: the device is looked up by filesystem UUID.
 * Two devices with the same UUID (a cloned disk) count as missing: which
 * one holds the brick cannot be told.
 */
export async function ensureMounted(rec: BrickRecord, mounted?: Set<string>): Promise<MountOutcome> {
  if ((mounted ?? (await mountPoints())).has(rec.mountPoint)) return { state: 'mounted' };
  const device = await deviceOf(rec.fsUuid);
  if (!device) return { state: 'disk-missing', fsUuid: rec.fsUuid };
  // The probe must agree: blkid's cache may name a device that now holds something else.
  const actual = await filesystemUuid(device).catch(() => undefined);
  if (actual !== rec.fsUuid) return { state: 'disk-missing', fsUuid: rec.fsUuid };
  const r = await run('mount', ['-t', 'xfs', '-o', 'noatime,inode64', device, rec.mountPoint]);
  if (r.code !== 0) return { state: 'failed', message: `mount ${device} ${rec.mountPoint}: ${r.out}` };
  return { state: 'mounted-now', device };
}

export type BrickReadiness =
  /** The brick's data is there (its disk mounted, the brick directory present): a restart can work. */
  | 'ready'
  /** Recorded disk not attached: only replace-brick helps. */
  | 'disk-missing'
  /** The mount point holds no mounted disk (a mount failed): never start it. */
  | 'not-mounted'
  /** Disk mounted (or unmanaged brick) but no brick directory / no Gluster metadata in it. */
  | 'brick-dir-missing';

/**
 * Whether a brick of this host can be restarted. A Cairn brick (with a
 * record) must have its disk mounted and its brick directory on it; a
 * brick without a record (made by hand) must have its directory with
 * Gluster's `.glusterfs` inside (a brick that has run before).
 */
export async function brickReadiness(brickDir: string, mounted?: Set<string>): Promise<BrickReadiness> {
  const rec = await readBrickRecord(brickDir);
  if (rec) {
    if (!(mounted ?? (await mountPoints())).has(rec.mountPoint)) {
      return (await deviceOf(rec.fsUuid)) ? 'not-mounted' : 'disk-missing';
    }
    return (await exists(brickDir)) ? 'ready' : 'brick-dir-missing';
  }
  return (await exists(join(brickDir, '.glusterfs'))) ? 'ready' : 'brick-dir-missing';
}

/**
 * Pure-ish guard before `volume start … force` (which acts on every brick
 * of the volume): the brick directories of this host that exist on a
 * recorded mount point whose disk is not mounted — force would stamp the
 * volume id on them and start a brick on the root filesystem.
 */
export async function unsafeForForce(brickDirs: readonly string[], mounted?: Set<string>): Promise<string[]> {
  const points = mounted ?? (await mountPoints());
  const bad: string[] = [];
  for (const dir of brickDirs) {
    const rec = await readBrickRecord(dir).catch(() => undefined);
    if (rec && !points.has(rec.mountPoint) && (await exists(dir))) bad.push(dir);
  }
  return bad;
}
