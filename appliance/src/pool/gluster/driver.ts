/**
 * The `pool/gluster` driver: every gluster pool of the state becomes a
 * started Gluster volume named after the pool id, and every share on it
 * gets its directory inside the volume.
 *
 * - Missing volume: created from the pool's bricks ("host:/path", in state
 *   order), replica N or `replica 3 arbiter 1` for replica 2 + arbiter,
 *   with `force` when two bricks of one replica set share a host (one
 *   appliance replicating across its own disks), then tuned as a VM
 *   datastore (VM_DATASTORE_OPTIONS) while still never started (the virt
 *   profile turns on sharding, which must not meet existing files), and
 *   started. A stopped volume is started; a started one is not re-tuned.
 * - A volume that SMB serves gets `performance.write-behind off`:
 *   vfs_glusterfs refuses volumes with write-behind on (vfs_glusterfs(8)).
 * - Share directories (`[volume/]path` inside the Gluster volume) are made
 *   through libgfapi as 0777, like pool/local does; an existing
 *   directory's mode is never changed.
 * - Problems, per pool, never a throw that hides the other pools:
 *   glusterd unreachable, bricks down, bricks that differ from the state
 *   (reported, never changed: add-brick and replace-brick are admin tasks),
 *   entries pending heal. Brick health and heal pending feed the metrics.
 * - Nothing is ever deleted: a volume whose pool left the state keeps
 *   running and is reported until an admin deletes it. Cairn's volumes
 *   carry the option `user.cairn.pool = <pool id>` (glusterd accepts any
 *   `user.*` key), so they are known as Cairn's across cairnd restarts;
 *   other volumes in the same glusterd are not Cairn's business.
 * - An appliance whose state has no gluster pool never asks glusterd.
 */
import type { Logger } from '../../log.js';
import type { Backend } from '../../nfs/backend/backend.js';
import type { Driver, DriverResult, Problem } from '../../reconcile/driver.js';
import type { GlusterPool, Share, State } from '../../state/schema.js';
import type { Metrics } from '../../system/metrics.js';
import { GlusterCli } from './cli.js';
import { GlusterError } from './errors.js';
import { capacityOf, GlusterVolumes, type Capacity, type VolumeInfo } from './volumes.js';

export interface GlusterPoolDriverOptions {
  /** How the `gluster` CLI is run (tests: inside the lab's namespaces). */
  cli?: GlusterCli;
  log?: Logger;
  metrics?: Metrics;
  /** The glusterd that libgfapi asks for volume files; default: the pool's first brick host. */
  volfileServer?: string;
  /** How the driver reaches a volume's files to make share directories (default: gfapi). */
  openVolume?: (volume: string, volfileServer: string) => Promise<Backend>;
}

/** The Gluster volume behind a pool. */
export function volumeNameOf(pool: Pick<GlusterPool, 'id'>): string {
  return pool.id;
}

/** The glusterd libgfapi fetches the volume file from: an override, else the first brick's host. */
export function volfileServerOf(pool: GlusterPool, override?: string): string {
  return override ?? pool.bricks[0]?.host ?? 'localhost';
}

/** A share's directory inside its Gluster volume, "/a/b" ("/" = the volume root). */
export function glusterShareDir(share: Pick<Share, 'volume' | 'path'>): string {
  const parts = [...(share.volume ? [share.volume] : []), ...share.path.split('/')].filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new Error(`share path ${JSON.stringify(share.path)} leaves the pool`);
  return `/${parts.join('/')}`;
}

/** Whether any replica set has two bricks on one host (gluster then wants `force`). */
export function needsForce(pool: GlusterPool): boolean {
  const per = pool.replica + pool.arbiter;
  for (let i = 0; i < pool.bricks.length; i += per) {
    const hosts = pool.bricks.slice(i, i + per).map((b) => b.host);
    if (new Set(hosts).size < hosts.length) return true;
  }
  return false;
}

/** The volume option that marks a volume as the one behind a Cairn pool. */
export const POOL_MARK = 'user.cairn.pool';

const brickName = (b: { host: string; path: string }) => `${b.host}:${b.path}`;
const ROOT = { uid: 0, gid: 0, gids: [] };
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class GlusterPoolDriver implements Driver {
  readonly name = 'pool/gluster';
  readonly volumes: GlusterVolumes;
  /** Pools seen in the state since start: if one leaves, its volume is reported. */
  private readonly seen = new Set<string>();
  /** Volume-root backends used to make share directories, per "volume@server". */
  private readonly roots = new Map<string, Backend>();
  private readonly capacities = new Map<string, Capacity>();

  constructor(private readonly opts: GlusterPoolDriverOptions = {}) {
    this.volumes = new GlusterVolumes(opts.cli ?? new GlusterCli());
  }

  /** Usable capacity of a gluster pool as of the last apply (undefined before, or when unknown). */
  poolCapacity(poolId: string): Capacity | undefined {
    return this.capacities.get(poolId);
  }

  async apply(state: State, signal: AbortSignal): Promise<DriverResult> {
    const pools = state.pools.filter((p): p is GlusterPool => p.kind === 'gluster');
    const problems: Problem[] = [];
    const gone = [...this.seen].filter((id) => !pools.some((p) => p.id === id));
    if (pools.length === 0 && gone.length === 0) return { problems, summary: 'no gluster pools' };

    let existing: string[];
    try {
      existing = await this.volumes.list();
    } catch (e) {
      const what = e instanceof GlusterError && e.code === 'GLUSTERD_UNREACHABLE' ? 'glusterd is not running or not reachable' : message(e);
      for (const p of pools) problems.push({ objectKind: 'pool', objectId: p.id, message: `Gluster: ${what}` });
      for (const p of pools) this.capacities.delete(p.id);
      return { problems, summary: `${pools.length} gluster pool(s), glusterd unavailable` };
    }
    for (const id of gone) if (!existing.includes(id)) this.seen.delete(id);
    for (const name of existing) {
      if (pools.some((p) => volumeNameOf(p) === name)) continue;
      let ours = this.seen.has(name);
      if (!ours) ours = (await this.volumes.info(name).catch(() => undefined))?.options[POOL_MARK] !== undefined;
      if (ours) {
        problems.push({ objectKind: 'volume', objectId: name, message: `Gluster volume ${name} is no longer in the state; it was left running with its data (delete it by hand when no longer needed)` });
      }
    }

    let ready = 0;
    for (const pool of pools) {
      signal.throwIfAborted();
      this.seen.add(pool.id);
      const before = problems.length;
      try {
        await this.applyPool(state, pool, existing.includes(volumeNameOf(pool)), problems, signal);
        if (problems.length === before) ready++;
      } catch (e) {
        problems.push({ objectKind: 'pool', objectId: pool.id, message: `Gluster: ${message(e)}` });
      }
    }
    for (const [key, backend] of this.roots) {
      if (pools.some((p) => key.startsWith(`${volumeNameOf(p)}@`))) continue;
      this.roots.delete(key);
      await backend.close().catch(() => undefined);
    }
    return { problems, summary: `${ready}/${pools.length} gluster pool(s) healthy` };
  }

  private async applyPool(state: State, pool: GlusterPool, exists: boolean, problems: Problem[], signal: AbortSignal): Promise<void> {
    const name = volumeNameOf(pool);
    const problem = (msg: string) => problems.push({ objectKind: 'pool', objectId: pool.id, message: `Gluster: ${msg}` });
    if (!exists) {
      if (pool.bricks.length === 0) {
        problem('the pool has no bricks yet');
        return;
      }
      if (pool.arbiter && pool.replica !== 2) {
        // Gluster spells it `replica 3 arbiter 1`: two data bricks and an arbiter per set.
        problem(`an arbiter goes with replica 2 (two copies + arbiter), not replica ${pool.replica}`);
        return;
      }
      await this.volumes.create({
        name,
        bricks: pool.bricks.map(brickName),
        replica: (pool.arbiter ? 2 : pool.replica) as 1 | 2 | 3,
        arbiter: pool.arbiter === 1,
        force: needsForce(pool),
      });
      this.opts.log?.info({ pool: pool.id, bricks: pool.bricks.length, replica: pool.replica, arbiter: pool.arbiter }, 'gluster volume created');
    }
    let info: VolumeInfo = await this.volumes.info(name);
    // Tuned only while it was never started: it holds no data yet, so turning on
    // sharding (virt profile) is safe; a pass that failed after create retries here.
    if (info.state === 'Created') await this.volumes.applyVmDatastoreOptions(name);
    if (info.options[POOL_MARK] !== pool.id) await this.volumes.set(name, POOL_MARK, pool.id);

    const smbShares = state.shares.filter((s) => s.pool === pool.id && s.smb.enabled);
    if (smbShares.length && info.options['performance.write-behind'] !== 'off') {
      await this.volumes.set(name, 'performance.write-behind', 'off');
    }
    if (info.state !== 'Started') {
      await this.volumes.start(name);
      this.opts.log?.info({ pool: pool.id }, 'gluster volume started');
      info = await this.volumes.info(name);
    }
    signal.throwIfAborted();

    if (info.replicaCount !== pool.replica + pool.arbiter || info.arbiterCount !== pool.arbiter) {
      problem(`volume ${name} has replica ${info.replicaCount} with ${info.arbiterCount} arbiter(s) but the state says replica ${pool.replica} with ${pool.arbiter}`);
    }
    const wanted = pool.bricks.map(brickName);
    const actual = info.bricks.map((b) => b.name);
    if (wanted.join(' ') !== actual.join(' ')) {
      problem(`volume ${name} has bricks ${actual.join(', ')} but the state lists ${wanted.join(', ') || 'none'}; bricks are changed only by add-brick or replace-brick`);
    }

    const status = await this.volumes.status(name);
    this.capacities.set(pool.id, capacityOf(info, status.bricks));
    const cap = this.capacities.get(pool.id)!;
    this.opts.metrics?.poolCapacityBytes.set({ pool: pool.id }, cap.totalBytes);
    this.opts.metrics?.poolUsedBytes.set({ pool: pool.id }, cap.usedBytes);
    const online = new Set(status.bricks.filter((b) => b.online).map((b) => b.brick));
    const down = info.bricks.filter((b) => !online.has(b.name));
    for (const b of info.bricks) this.opts.metrics?.brickHealthy.set({ pool: pool.id, brick: b.name }, online.has(b.name) ? 1 : 0);
    if (down.length) {
      problem(`${down.length} of ${info.bricks.length} brick(s) down: ${down.map((b) => b.name).join(', ')}`);
    } else {
      // `heal info` takes ~10 s while a brick is down: only asked when all are up.
      const heal = await this.volumes.heal(name);
      for (const b of heal.bricks) this.opts.metrics?.healPending.set({ pool: pool.id, brick: b.brick }, b.entries ?? 0);
      if (heal.pending > 0) problem(`${heal.pending} entr${heal.pending === 1 ? 'y' : 'ies'} pending heal`);
    }

    const shares = state.shares.filter((s) => s.pool === pool.id);
    if (shares.length === 0) return;
    let root: Backend;
    try {
      root = await this.root(pool);
    } catch (e) {
      problem(`cannot open volume ${name} through libgfapi: ${message(e)}`);
      return;
    }
    for (const share of shares) {
      signal.throwIfAborted();
      try {
        await makeDirs(root, glusterShareDir(share));
      } catch (e) {
        problems.push({ objectKind: 'share', objectId: share.name, message: `Gluster: cannot create the share directory: ${message(e)}` });
      }
    }
  }

  private async root(pool: GlusterPool): Promise<Backend> {
    const server = volfileServerOf(pool, this.opts.volfileServer);
    const key = `${volumeNameOf(pool)}@${server}`;
    let b = this.roots.get(key);
    if (!b) {
      const open = this.opts.openVolume ?? (async (volume: string, volfileServer: string) => {
        const { openGfapiBackend } = await import('../../nfs/backend/gfapi/index.js');
        return openGfapiBackend({ volume, volfileServer });
      });
      b = await open(volumeNameOf(pool), server);
      this.roots.set(key, b);
    }
    return b;
  }

  async close(): Promise<void> {
    for (const b of this.roots.values()) await b.close().catch(() => undefined);
    this.roots.clear();
  }
}

/** mkdir -p through a backend; directories it makes get mode 0777 (existing ones keep theirs). */
async function makeDirs(root: Backend, dir: string): Promise<void> {
  let handle = await root.root();
  for (const part of dir.split('/').filter(Boolean)) {
    let next: Buffer;
    try {
      next = (await root.lookup(ROOT, handle, part)).handle;
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') throw e;
      try {
        next = (await root.mkdir(ROOT, handle, part, { mode: 0o777 })).handle;
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST') throw err;
        next = (await root.lookup(ROOT, handle, part)).handle;
      }
      // The mode given to mkdir passes through the umask: set it outright.
      await root.setattr(ROOT, next, { mode: 0o777 });
    }
    handle = next;
  }
}
