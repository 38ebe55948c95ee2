/**
 * Gluster operations the cluster control plane (cluster/) needs beyond
 * the pool driver's: the small `cairn-state` volume that holds the shared
 * desired state, its FUSE mount on each appliance, and the moves of an
 * appliance's bricks before it leaves (remove-brick for whole replica
 * sets). Same rules as the rest of pool/gluster: argument arrays, never a
 * shell string; errors are GlusterErrors.
 *
 * The state volume is tuned for a tiny, rarely written, strongly
 * consistent document rather than for throughput:
 *  - cluster.quorum-type auto: a client that reaches only a minority of a
 *    replica set gets EROFS on writes (for replica 2: only when it lost
 *    the first brick) — the minority side of a partition cannot change
 *    the cluster's state, so there is never a split brain to repair;
 *  - network.ping-timeout 5 and client.tcp-user-timeout 5: a vanished
 *    appliance is declared gone in ~5 s (FACTS: 68 s with defaults);
 *  - the client-side caches off (quick-read, io-cache, read-ahead,
 *    stat-prefetch, write-behind): every read goes to the bricks, so a
 *    change written on another appliance is seen at the next poll; the
 *    FUSE mount also runs with attribute/entry timeouts of 0.
 * A FUSE mount (not gfapi) because the document is read and written with
 * ordinary file calls and locked with flock; the no-FUSE rule is for the
 * NFS data path.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { GlusterError } from './errors.js';
import type { GlusterVolumes } from './volumes.js';

const run = promisify(execFile);

export const STATE_VOLUME = 'cairn-state';

export const STATE_VOLUME_OPTIONS: ReadonlyArray<readonly [string, string]> = [
  ['cluster.quorum-type', 'auto'],
  ['network.ping-timeout', '5'],
  ['client.tcp-user-timeout', '5'],
  ['performance.quick-read', 'off'],
  ['performance.io-cache', 'off'],
  ['performance.read-ahead', 'off'],
  ['performance.stat-prefetch', 'off'],
  ['performance.write-behind', 'off'],
  // The volume is also CTDB's lock volume (clustered SMB, smb/ctdb.ts
  // CTDB_LOCK_VOLUME_OPTIONS): the bricks notice a dead appliance within
  // seconds, so its fcntl cluster lock is released and a survivor takes it.
  ['server.tcp-user-timeout', '5'],
  ['server.keepalive-time', '2'],
  ['server.keepalive-interval', '1'],
  ['server.keepalive-count', '3'],
  ['performance.open-behind', 'off'],
  ['user.cairn.state', '1'],
];

/**
 * Creates and starts the state volume on `bricks` (one per appliance,
 * replica = number of bricks, 2 or 3). `force`: the bricks are directories
 * of cairnd's data directory, which on a development machine sits on the
 * root filesystem. Returns false when it existed already.
 */
export async function createStateVolume(volumes: GlusterVolumes, bricks: string[]): Promise<boolean> {
  if ((await volumes.list()).includes(STATE_VOLUME)) return false;
  if (bricks.length < 2 || bricks.length > 3) throw new GlusterError('INVALID_ARGUMENT', `the state volume takes 2 or 3 bricks, not ${bricks.length}`);
  // Retried like growStateVolume: the newcomer's glusterd may not be ready right after its probe.
  for (let i = 1; ; i++) {
    try {
      await volumes.create({ name: STATE_VOLUME, bricks, replica: bricks.length as 2 | 3, force: true });
      break;
    } catch (err) {
      await new Promise((r) => setTimeout(r, 2000));
      if ((await volumes.list().catch(() => [] as string[])).includes(STATE_VOLUME)) break;
      if (i >= 5) throw err;
    }
  }
  for (const [k, v] of STATE_VOLUME_OPTIONS) await volumes.set(STATE_VOLUME, k, v);
  await volumes.start(STATE_VOLUME);
  return true;
}

/**
 * Raises the state volume from replica 2 to 3 with `brick` (the third
 * appliance's). A commit that failed on some peer ("Commit failed on …")
 * is retried a few times, each time only if the brick is not in the
 * volume yet. Beware what such a failure leaves: the peers that committed
 * and the one that did not hold the volume at the same version with
 * different content, and glusterd then rejects the next newcomer ("Peer
 * Rejected", "Version of Cksums cairn-state differ"). In the lab the
 * failure was the nodes' shared /tmp (glusterd writes
 * /tmp/VOLUME.tcp-fuse.vol during this commit; test/lab/lab.ts
 * privateTmp), which separate appliances do not share.
 */
export async function growStateVolume(volumes: GlusterVolumes, brick: string, attempts = 5): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await volumes.addBrick(STATE_VOLUME, [brick], { replica: 3, force: true });
      break;
    } catch (err) {
      await new Promise((r) => setTimeout(r, 2000));
      const info = await volumes.info(STATE_VOLUME).catch(() => undefined);
      if (info?.bricks.some((b) => b.name === brick)) break;
      if (i >= attempts) throw err;
    }
  }
  await volumes.triggerHeal(STATE_VOLUME, { full: true }).catch(() => undefined);
}

/** Mounts `server:/volume` on `dir` with Gluster's FUSE client (no caching of attributes or entries). */
export async function mountVolume(server: string, volume: string, dir: string, timeoutMs = 30_000): Promise<void> {
  await mkdir(dir, { recursive: true });
  try {
    await run('mount', ['-t', 'glusterfs', '-o', 'attribute-timeout=0,entry-timeout=0,negative-timeout=0', `${server}:/${volume}`, dir], {
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new GlusterError('GLUSTER_FAILED', `mount of ${server}:/${volume} on ${dir} failed: ${(err.stderr || err.message).trim()}`);
  }
}

/** Lazily unmounts `dir` (a hung FUSE client must not hang the caller). */
export async function unmountVolume(dir: string): Promise<void> {
  await run('umount', ['-l', dir], { timeout: 10_000 }).catch(() => undefined);
}

/** Whether `dir` is a Gluster FUSE mount point in this mount namespace. */
export async function isGlusterMount(dir: string): Promise<boolean> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const esc = dir.replace(/\/+$/, '').replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return info.split('\n').some((l) => {
    const f = l.split(' ');
    return f[4] === esc && l.includes(' - fuse.glusterfs ');
  });
}

/**
 * Lowers a volume's replica count by removing one brick of each replica
 * set (`remove-brick VOL replica N BRICK… force`): no data moves, the
 * remaining copies hold everything. Used for the state volume when an
 * appliance leaves and no other can take its brick.
 */
export async function reduceReplica(volumes: GlusterVolumes, volume: string, replica: number, bricks: string[]): Promise<void> {
  await volumes.cli.run(['volume', 'remove-brick', volume, 'replica', String(replica), ...bricks, 'force']);
}

/** Starts migrating the data of whole replica sets away (`remove-brick … start`). */
export async function removeBrickStart(volumes: GlusterVolumes, volume: string, bricks: string[]): Promise<void> {
  await volumes.cli.run(['volume', 'remove-brick', volume, ...bricks, 'start']);
}

export interface RemoveBrickProgress {
  /** Gluster's aggregate status: "in progress", "completed", "failed", … */
  status: string;
  files: number;
  bytes: number;
  failures: number;
}

/** Progress of a `remove-brick … start` (the aggregate over the nodes). */
export async function removeBrickStatus(volumes: GlusterVolumes, volume: string, bricks: string[]): Promise<RemoveBrickProgress> {
  const out = await volumes.cli.run(['volume', 'remove-brick', volume, ...bricks, 'status']);
  const agg = findKey(out, 'aggregate') as Record<string, unknown> | undefined;
  const n = (k: string) => Number(agg?.[k] ?? 0) || 0;
  return { status: String(agg?.['statusStr'] ?? 'unknown'), files: n('files'), bytes: n('size'), failures: n('failures') };
}

/** Drops the migrated sets from the volume (`remove-brick … commit`). */
export async function removeBrickCommit(volumes: GlusterVolumes, volume: string, bricks: string[]): Promise<void> {
  await volumes.cli.run(['volume', 'remove-brick', volume, ...bricks, 'commit']);
}

function findKey(v: unknown, key: string): unknown {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (key in o) return o[key];
  for (const x of Object.values(o)) {
    const f = findKey(x, key);
    if (f !== undefined) return f;
  }
  return undefined;
}
