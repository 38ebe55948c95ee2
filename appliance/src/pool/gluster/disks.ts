/**
 * Disks and bricks: list the machine's block devices, turn a disk into a
 * Gluster brick (XFS with 512-byte inodes, room for Gluster's xattrs,
 * mounted under DATA_DIR/bricks/<id>), and loop-file disks for tests and
 * the development default.
 *
 * Safety rule: a disk that holds a filesystem, a partition table or
 * partitions, or that is mounted, is refused (DISK_IN_USE) unless the
 * caller passes `wipe: true`; a mounted disk is refused even then.
 * Detection probes the device itself (`blkid -p`), because `lsblk`'s
 * FSTYPE comes from udev, which may not know (containers, early boot).
 *
 * The brick directory is `<mount>/brick`, not the mount point itself: if
 * the disk is ever missing, the empty mount point has no `brick`
 * directory and the brick process refuses to start instead of filling
 * the root filesystem. Each prepared brick is recorded (filesystem UUID)
 * beside its mount point, so it is mounted again after a reboot
 * (brick-mounts.ts).
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { filesystemUuid, removeBrickRecord, writeBrickRecord } from './brick-mounts.js';
import { GlusterError } from './errors.js';

export interface BlockDevice {
  name: string;
  /** /dev/… */
  path: string;
  sizeBytes: number;
  /** lsblk TYPE: disk, part, loop, rom, … */
  type: string;
  /** As udev knows it (may be null even when a filesystem exists). */
  fstype: string | null;
  pttype: string | null;
  mountpoints: string[];
  model: string | null;
  serial: string | null;
  rotational: boolean;
  readOnly: boolean;
  children: BlockDevice[];
}

export interface Brick {
  id: string;
  device: string;
  /** Where the XFS filesystem is mounted. */
  mountPoint: string;
  /** The directory given to Gluster: `<mountPoint>/brick`. */
  brickDir: string;
  /** The XFS filesystem UUID (recorded beside the mount point and in the pool's state). */
  fsUuid?: string;
}

const TIMEOUT_MS = 120_000;

function run(file: string, args: string[], timeoutMs = TIMEOUT_MS): Promise<{ stdout: string; code: number }> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, code: 0 });
      const e = err as NodeJS.ErrnoException & { killed?: boolean };
      if (e.code === 'ENOENT') return reject(new GlusterError('GLUSTER_NOT_INSTALLED', `${file} not found`));
      if (e.killed) return reject(new GlusterError('GLUSTER_TIMEOUT', `${file} ${args.join(' ')}: timed out`));
      if (typeof e.code === 'number') return resolve({ stdout: stdout + stderr, code: e.code });
      reject(err);
    });
  });
}

async function must(file: string, args: string[]): Promise<string> {
  const r = await run(file, args);
  if (r.code !== 0) {
    throw new GlusterError('GLUSTER_FAILED', `${file} ${args.join(' ')}: ${r.stdout.trim().split('\n').slice(-2).join(' ')}`);
  }
  return r.stdout;
}

interface LsblkNode {
  name: string;
  path: string;
  size: number | string;
  type: string;
  fstype: string | null;
  pttype: string | null;
  mountpoints?: (string | null)[];
  model: string | null;
  serial: string | null;
  rota: boolean | string;
  ro: boolean | string;
  children?: LsblkNode[];
}

/** Pure: lsblk --json output → BlockDevice tree. */
export function parseLsblk(json: string): BlockDevice[] {
  const doc = JSON.parse(json) as { blockdevices?: LsblkNode[] };
  const conv = (n: LsblkNode): BlockDevice => ({
    name: n.name,
    path: n.path,
    sizeBytes: Number(n.size),
    type: n.type,
    fstype: n.fstype ?? null,
    pttype: n.pttype ?? null,
    mountpoints: (n.mountpoints ?? []).filter((m): m is string => typeof m === 'string'),
    model: n.model?.trim() || null,
    serial: n.serial?.trim() || null,
    rotational: n.rota === true || n.rota === '1',
    readOnly: n.ro === true || n.ro === '1',
    children: (n.children ?? []).map(conv),
  });
  return (doc.blockdevices ?? []).map(conv);
}

const LSBLK_COLUMNS = 'NAME,PATH,SIZE,TYPE,FSTYPE,PTTYPE,MOUNTPOINTS,MODEL,SERIAL,ROTA,RO';

/** The machine's block devices (with partitions as children). */
export async function listBlockDevices(): Promise<BlockDevice[]> {
  return parseLsblk(await must('lsblk', ['--json', '--bytes', '-o', LSBLK_COLUMNS]));
}

async function inspect(device: string): Promise<BlockDevice> {
  const r = await run('lsblk', ['--json', '--bytes', '-o', LSBLK_COLUMNS, device]);
  if (r.code !== 0) throw new GlusterError('DISK_NOT_FOUND', `${device}: not a block device`);
  const [d] = parseLsblk(r.stdout);
  if (!d) throw new GlusterError('DISK_NOT_FOUND', `${device}: not a block device`);
  return d;
}

/** What `blkid -p` finds on the device itself: a filesystem or partition table type, or null. */
async function probeSignature(device: string): Promise<string | null> {
  const r = await run('blkid', ['-p', '-o', 'export', device]);
  if (r.code === 2) return null; // nothing found
  if (r.code !== 0) throw new GlusterError('GLUSTER_FAILED', `blkid -p ${device}: ${r.stdout.trim()}`);
  const kv = Object.fromEntries(
    r.stdout
      .split('\n')
      .map((l) => l.split('='))
      .filter((p) => p.length >= 2)
      .map(([k, ...v]) => [k, v.join('=')]),
  );
  return kv['TYPE'] ?? (kv['PTTYPE'] ? `partition table ${kv['PTTYPE']}` : 'unknown signature');
}

async function mountedDevices(): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  const text = await readFile('/proc/self/mounts', 'utf8');
  for (const line of text.split('\n')) {
    const [src, target] = line.split(' ');
    if (src?.startsWith('/dev/') && target) map.set(src, target.replace(/\\040/g, ' '));
  }
  return map;
}

export interface PrepareBrickOptions {
  /** /dev/… of a whole disk (or loop device). */
  device: string;
  /** Brick id: [a-z0-9-], used as the mount directory name. */
  id: string;
  /** cairnd's data dir; the disk is mounted at DATA_DIR/bricks/<id>. */
  dataDir: string;
  /** Erase existing filesystems/partition tables. Never allowed on a mounted disk. */
  wipe?: boolean;
}

/**
 * Why `device` cannot become a brick, thrown as DISK_NOT_FOUND,
 * INVALID_ARGUMENT or DISK_IN_USE; changes nothing. Returns what a
 * `wipe` would erase (null: nothing), so a caller can check several disks
 * before touching any.
 */
export async function checkDisk(device: string, wipe = false): Promise<{ dev: BlockDevice; signature: string | null }> {
  const dev = await inspect(device);
  if (dev.type === 'part' || dev.type === 'rom') {
    throw new GlusterError('INVALID_ARGUMENT', `${device} is a ${dev.type}: give a whole disk`);
  }
  if (dev.readOnly) throw new GlusterError('DISK_IN_USE', `${device} is read-only`);
  const mounts = await mountedDevices();
  const mounted = [dev, ...dev.children].flatMap((d) => [...d.mountpoints, ...(mounts.has(d.path) ? [mounts.get(d.path)!] : [])]);
  if (mounted.length > 0) {
    throw new GlusterError('DISK_IN_USE', `${device} is mounted at ${[...new Set(mounted)].join(', ')}`);
  }
  const signature = dev.children.length > 0 ? `${dev.children.length} partition(s)` : await probeSignature(device);
  if (signature !== null && !wipe) {
    throw new GlusterError('DISK_IN_USE', `${device} holds ${signature}: pass wipe to erase it`);
  }
  return { dev, signature };
}

/**
 * Formats `device` as XFS (`-i size=512`), mounts it at
 * DATA_DIR/bricks/<id> and makes the `brick` directory. Refuses disks in use.
 */
export async function prepareBrick(opts: PrepareBrickOptions): Promise<Brick> {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(opts.id)) {
    throw new GlusterError('INVALID_ARGUMENT', `brick id ${JSON.stringify(opts.id)}: use a-z, 0-9 and -`);
  }
  const { dev, signature } = await checkDisk(opts.device, opts.wipe);
  if (signature !== null) {
    for (const child of dev.children) await must('wipefs', ['-a', child.path]);
    await must('wipefs', ['-a', opts.device]);
  }
  await must('mkfs.xfs', ['-f', '-q', '-i', 'size=512', '-L', `cairn-${opts.id}`.slice(0, 12), opts.device]);
  const mountPoint = join(opts.dataDir, 'bricks', opts.id);
  await mkdir(mountPoint, { recursive: true });
  await must('mount', ['-t', 'xfs', '-o', 'noatime,inode64', opts.device, mountPoint]);
  const brickDir = join(mountPoint, 'brick');
  await mkdir(brickDir, { recursive: true });
  // Found again by filesystem UUID after a reboot (brick-mounts.ts).
  const fsUuid = await filesystemUuid(opts.device);
  await writeBrickRecord({ id: opts.id, fsUuid, device: opts.device, mountPoint, brickDir, preparedAt: new Date().toISOString() });
  return { id: opts.id, device: opts.device, mountPoint, brickDir, fsUuid };
}

/** Unmounts a brick's filesystem (lazily if busy) and removes the empty mount point. */
export async function releaseBrick(brick: Pick<Brick, 'mountPoint'>): Promise<void> {
  const r = await run('umount', [brick.mountPoint]);
  if (r.code !== 0 && !/not mounted|no mount point/i.test(r.stdout)) await must('umount', ['-l', brick.mountPoint]);
  // rmdir, never a recursive delete: if the unmount did not happen, the data stays.
  await rmdir(brick.mountPoint).catch(() => undefined);
  await removeBrickRecord(join(brick.mountPoint, 'brick'));
}

/**
 * A loop-file disk: a sparse file of `sizeBytes` attached to a free loop
 * device. Returns the device path (/dev/loopN).
 */
export async function createLoopDisk(file: string, sizeBytes: number): Promise<string> {
  await must('truncate', ['-s', String(sizeBytes), file]);
  return (await must('losetup', ['--show', '-f', file])).trim();
}

/** Detaches a loop device (the backing file stays; delete it yourself). */
export async function detachLoopDisk(device: string): Promise<void> {
  if (!/^\/dev\/loop\d+$/.test(device)) throw new GlusterError('INVALID_ARGUMENT', `${device} is not a loop device`);
  await must('losetup', ['-d', device]);
}

/** Whether `path` exists (a brick's mount point, say). */
export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
