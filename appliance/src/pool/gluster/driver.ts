/**
 * The `pool/gluster` driver: every gluster pool of the state becomes a
 * started Gluster volume named after the pool id, and every share on it
 * gets its directory inside the volume.
 *
 * - One creator per volume: in a cluster every appliance sees every pool
 *   (shared state), so only the appliance that holds the pool's first brick
 *   creates, tunes and starts its volume (volumeCreatorOf). The others see
 *   it as progress, not a problem ("waiting for node1 to create the
 *   volume": summary, poolWaiting(), an info log), poll for it every
 *   healSampleMs, and take over only after creatorGraceMs (default 60 s):
 *   by then the creator's cairnd is down or stuck (its own pass takes
 *   seconds once the state reaches it), and a create that races a late
 *   creator costs one failed pass, never data. Why not take over at once
 *   when the creator looks unreachable: glusterd refuses to create a volume
 *   with a brick on a disconnected peer anyway. Without `host`, or when
 *   the first brick's host is this one or no other peer of this glusterd
 *   (one appliance naming its bricks by address or as localhost), this
 *   appliance creates, as a single appliance always did.
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
 * - Brick disks (brick-mounts.ts): before a pool's volume is created,
 *   started or checked, every brick disk recorded on this machine is
 *   mounted again, found by filesystem UUID; a recorded disk that is not
 *   attached is a problem (replace-brick's job, never a restart).
 * - Dead bricks: a brick of a started volume that is offline while its
 *   disk is mounted and its brick directory present is restarted with
 *   `volume start VOL force` (which starts every offline brick), with
 *   backoff (5 s doubling to 5 min) and a problem meanwhile; never while
 *   a brick directory of this host sits on a mount point without its disk
 *   (force would start a brick on the root filesystem). Bricks of other
 *   hosts are their appliance's business. The same goes for this
 *   appliance's self-heal daemon of a replicated volume: while it is
 *   dead nothing heals in the background, so it is a problem and
 *   restarted by the same `start force`.
 * - Heal progress (heal.ts): `heal-count` sampled on every pass and by a
 *   watch timer, every 4 s while entries are pending or a brick is down
 *   (15 s otherwise); rate and ETA from successive samples, shown by
 *   poolHeal(id) (the API's `heal`) and the metrics. The watch asks the
 *   reconciler for a pass (requestReconcile) when a brick or the
 *   self-heal daemon goes down or comes back, or heal starts or ends.
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
import { brickIdentity, brickReadiness, ensureMounted, mountedFilesystemUuid, mountPoints, readBrickRecord, restoreBrickRecord, unsafeForForce, type BrickReadiness } from './brick-mounts.js';
import { GlusterCli } from './cli.js';
import { GlusterError } from './errors.js';
import { HealTracker, splitBrainOf, splitBrainProblem, type HealProgress } from './heal.js';
import { GlusterPeers } from './peers.js';
import { capacityOf, GlusterVolumes, type Capacity, type DaemonStatus, type VolumeInfo, type VolumeStatus } from './volumes.js';
import type { BrickRef } from './xml.js';

export interface GlusterPoolDriverOptions {
  /** How the `gluster` CLI is run (tests: inside the lab's namespaces). */
  cli?: GlusterCli;
  log?: Logger;
  metrics?: Metrics;
  /** The glusterd that libgfapi asks for volume files; default: the pool's first brick host. */
  volfileServer?: string;
  /** How the driver reaches a volume's files to make share directories (default: gfapi). */
  openVolume?: (volume: string, volfileServer: string) => Promise<Backend>;
  /**
   * This appliance's name as its bricks spell their host (`host:/path`). When
   * given, only bricks of this host are mounted and restarted here (several
   * appliances sharing one root filesystem, as in test labs, see each other's
   * brick records); when absent, a brick record on this machine is enough.
   */
  host?: string;
  /** Asks the reconciler for a pass: the watch saw a brick go down or come back, or heal start or end. */
  requestReconcile?: () => void;
  /** Watch period while every brick is up and nothing is pending (default 15 s). */
  watchMs?: number;
  /** Watch period while heal is pending or a brick is down: how often heal progress is sampled (default 4 s, so that updates come at least every 5 s). */
  healSampleMs?: number;
  /** How often, at most, files in split-brain are counted while heal is pending (default 60 s; see splitBrainCount). */
  splitBrainCheckMs?: number;
  /**
   * How long an appliance that is not a pool's creator waits for the
   * creator to create (or tune and start) its volume before doing it
   * itself (default 60 s).
   */
  creatorGraceMs?: number;
  /** Delay between `volume start force` attempts for dead bricks or self-heal daemon (default 5 s doubling up to 5 min). */
  restartBackoff?: { initialMs: number; maxMs: number };
}

/** A pool's volume as the watch timer polls it. */
interface Watched {
  volume: string;
  replicaCount: number;
  options: Record<string, string>;
  bricks: string[];
  /** Bricks down, plus one while this appliance's self-heal daemon is. */
  down: number;
  pending: number;
}

const WHY_NOT_RESTARTED: Record<Exclude<BrickReadiness, 'ready' | 'disk-missing'>, string> = {
  'not-mounted': 'its disk is attached but not mounted, so it is not restarted',
  'brick-dir-missing': 'its brick directory is missing, so it is not restarted: replace the brick',
};

const SHD = 'Self-heal Daemon';

/** A replicated volume has a self-heal daemon, unless an admin turned it off (cluster.self-heal-daemon off). */
function selfHealExpected(info: Pick<VolumeInfo, 'replicaCount' | 'options'>): boolean {
  return info.replicaCount > 1 && !/^(off|no|false|disable|0)$/i.test(info.options['cluster.self-heal-daemon'] ?? '');
}

/**
 * This appliance's self-heal daemon is down: glusterd lists it ("Self-heal
 * Daemon" at "localhost", offline) for a replicated volume with a brick
 * here, also after it died.
 */
export function selfHealDaemonDown(daemons: DaemonStatus[], info: Pick<VolumeInfo, 'replicaCount' | 'options'>): boolean {
  return selfHealExpected(info) && daemons.some((d) => d.name === SHD && d.host === 'localhost' && !d.online);
}

/** The Gluster volume behind a pool. */
export function volumeNameOf(pool: Pick<GlusterPool, 'id'>): string {
  return pool.id;
}

/**
 * The appliance that creates, tunes and starts a pool's volume: the host of
 * its first brick (state order, so every appliance picks the same one).
 */
export function volumeCreatorOf(pool: Pick<GlusterPool, 'bricks'>): string | undefined {
  return pool.bricks[0]?.host;
}

/** A pool whose volume this appliance leaves to its creator for now. */
interface Waiting {
  creator: string;
  /** 'create' (no volume yet) or 'start' (created, not yet tuned and started). */
  step: 'create' | 'start';
  since: number;
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
  private readonly heal = new Map<string, HealTracker>();
  /** Brick directories of this host whose mounted or recorded disk is not the one the state names (see mountBricks). */
  private readonly wrongDisk = new Set<string>();
  /** Files in split-brain per pool, and when counted (heal info summary walks every pending entry). */
  private readonly splitBrain = new Map<string, { count: number; at: number }>();
  private readonly watched = new Map<string, Watched>();
  /** `volume start force` attempts per pool while dead bricks stay down. */
  private readonly restarts = new Map<string, { attempts: number; nextAt: number; lastError?: string }>();
  /** Pools whose volume another appliance (their creator) is to create or start. */
  private readonly waiting = new Map<string, Waiting>();
  /** Pools whose volume this appliance took over from a creator that did not act. */
  private readonly tookOver = new Set<string>();
  private localUuid: string | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: GlusterPoolDriverOptions = {}) {
    this.volumes = new GlusterVolumes(opts.cli ?? new GlusterCli());
  }

  /** Heal progress of a gluster pool; null when nothing is pending (or not known yet). */
  poolHeal(poolId: string): HealProgress | null {
    const p = this.heal.get(poolId)?.progress();
    return p && p.pending > 0 ? p : null;
  }

  /** "waiting for node1 to create the volume" while another appliance is to create or start the pool's volume; else null. */
  poolWaiting(poolId: string): string | null {
    const w = this.waiting.get(poolId);
    return w ? waitingMessage(w) : null;
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

    // Disks first, whether or not glusterd answers yet: after a boot it starts
    // the bricks of started volumes by itself, and must find them on their disks.
    for (const pool of pools) {
      await this.mountBricks(pool, (msg) => problems.push({ objectKind: 'pool', objectId: pool.id, message: `Gluster: ${msg}` })).catch((e: unknown) =>
        problems.push({ objectKind: 'pool', objectId: pool.id, message: `Gluster: brick disks: ${message(e)}` }),
      );
    }
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
    for (const id of this.waiting.keys()) if (!pools.some((p) => p.id === id)) this.waiting.delete(id);
    for (const id of this.tookOver) if (!pools.some((p) => p.id === id)) this.tookOver.delete(id);
    for (const id of [...this.watched.keys(), ...this.heal.keys()]) {
      if (pools.some((p) => p.id === id)) continue;
      this.watched.delete(id);
      this.heal.delete(id);
      this.restarts.delete(id);
    }
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
      try {
        await this.applyPool(state, pool, existing.includes(volumeNameOf(pool)), problems, signal);
        if (!this.waiting.has(pool.id) && !problems.some((p) => p.objectKind === 'pool' && p.objectId === pool.id)) ready++;
      } catch (e) {
        problems.push({ objectKind: 'pool', objectId: pool.id, message: `Gluster: ${message(e)}` });
      }
    }
    for (const [key, backend] of this.roots) {
      if (pools.some((p) => key.startsWith(`${volumeNameOf(p)}@`))) continue;
      this.roots.delete(key);
      await backend.close().catch(() => undefined);
    }
    this.scheduleWatch();
    const waits = pools.filter((p) => this.waiting.has(p.id)).map((p) => `${p.id}: ${waitingMessage(this.waiting.get(p.id)!)}`);
    return { problems, summary: `${ready}/${pools.length} gluster pool(s) healthy${waits.length ? `; ${waits.join('; ')}` : ''}` };
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
      if (await this.leftToCreator(pool, 'create')) return;
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
    if (info.state === 'Created' && (await this.leftToCreator(pool, 'start'))) return;
    this.waiting.delete(pool.id);
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

    let status = await this.volumes.status(name);
    const downOf = (st: VolumeStatus) => {
      const online = new Set(st.bricks.filter((b) => b.online).map((b) => b.brick));
      return info.bricks.filter((b) => !online.has(b.name));
    };
    let down = downOf(status);
    // `status detail` lists no daemons: the self-heal daemon is asked apart.
    const shdDownNow = async () => {
      // Asked only when it should run: glusterd refuses the question for a volume without one.
      if (info.state !== 'Started' || !selfHealExpected(info)) return false;
      const daemons = await this.volumes.selfHealDaemons(name).catch((e: unknown) => {
        this.opts.log?.debug({ pool: pool.id, err: e }, 'gluster: self-heal daemon status not read');
        return [];
      });
      return selfHealDaemonDown(daemons, info);
    };
    let shdDown = await shdDownNow();
    if (down.length === 0 && !shdDown) this.restarts.delete(pool.id);
    else if (info.state === 'Started' && (await this.restartDead(pool, info, down, shdDown, problem))) {
      // glusterd spawns the processes; they sign in within a second or two.
      for (let i = 0; i < 10 && (down.length || shdDown); i++) {
        await new Promise((r) => setTimeout(r, 500));
        status = await this.volumes.status(name);
        down = downOf(status);
        if (shdDown) shdDown = await shdDownNow();
      }
      // The self-heal daemon notices returned bricks by itself, but measured here it
      // sometimes waited a minute before its first crawl: ask for an index heal.
      await this.volumes.triggerHeal(name).catch((e: unknown) => this.opts.log?.warn({ pool: pool.id, err: e }, 'index heal after a brick restart not started'));
    }
    this.capacities.set(pool.id, capacityOf(info, status.bricks));
    const cap = this.capacities.get(pool.id)!;
    this.opts.metrics?.poolCapacityBytes.set({ pool: pool.id }, cap.totalBytes);
    this.opts.metrics?.poolUsedBytes.set({ pool: pool.id }, cap.usedBytes);
    for (const b of info.bricks) this.opts.metrics?.brickHealthy.set({ pool: pool.id, brick: b.name }, down.includes(b) ? 0 : 1);
    if (down.length) problem(`${down.length} of ${info.bricks.length} brick(s) down: ${down.map((b) => b.name).join(', ')}`);
    if (shdDown) problem('the self-heal daemon is not running on this appliance: its bricks are not healed until it runs again');
    let pending = 0;
    try {
      const heal = await this.sampleHeal(pool.id, name, info.replicaCount);
      pending = heal.pending;
      if (heal.pending > 0) {
        const eta = heal.etaSeconds === null ? '' : `, about ${formatSeconds(heal.etaSeconds)} left`;
        problem(`${heal.pending} entr${heal.pending === 1 ? 'y' : 'ies'} pending heal${eta}`);
      }
    } catch (e) {
      problem(`cannot read heal progress: ${message(e)}`);
    }
    const split = await this.splitBrainCount(pool.id, name, info.replicaCount, pending, down.length).catch((e: unknown) => {
      this.opts.log?.debug({ pool: pool.id, err: e }, 'gluster: split-brain count not read');
      return 0;
    });
    const splitMsg = splitBrainProblem(name, split);
    if (splitMsg) problem(splitMsg);
    this.watched.set(pool.id, { volume: name, replicaCount: info.replicaCount, options: info.options, bricks: info.bricks.map((b) => b.name), down: down.length + (shdDown ? 1 : 0), pending });

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

  /**
   * Whether this pass leaves `step` of the pool's volume to its creator
   * (another appliance of this trusted pool, still within its grace time).
   * Records the wait (logged once) or, after the grace time, the takeover.
   */
  private async leftToCreator(pool: GlusterPool, step: Waiting['step']): Promise<boolean> {
    const creator = volumeCreatorOf(pool);
    if (this.opts.host === undefined || creator === undefined || creator === this.opts.host || this.tookOver.has(pool.id)) return false;
    // Only another appliance of this glusterd's trusted pool can be waited for.
    const peers = await new GlusterPeers(this.volumes.cli).status();
    const peer = peers.find((p) => !p.self && p.hostnames.includes(creator));
    if (!peer) return false;
    const now = Date.now();
    let w = this.waiting.get(pool.id);
    if (!w || w.creator !== creator || w.step !== step) {
      // The grace time runs from the first wait for this creator (create, then start).
      w = { creator, step, since: w?.creator === creator ? w.since : now };
      this.waiting.set(pool.id, w);
      this.opts.log?.info({ pool: pool.id, creator, step, connected: peer.connected }, `gluster volume: ${waitingMessage(w)}`);
      if (now - w.since < (this.opts.creatorGraceMs ?? 60_000)) return true;
    }
    const grace = this.opts.creatorGraceMs ?? 60_000;
    if (now - w.since < grace) return true;
    this.waiting.delete(pool.id);
    this.tookOver.add(pool.id);
    this.opts.log?.warn(
      { pool: pool.id, creator, step, waitedMs: now - w.since, creatorConnected: peer.connected },
      `gluster volume: ${creator} did not ${step === 'create' ? 'create' : 'start'} it in ${Math.round((now - w.since) / 1000)} s; doing it here`,
    );
    return false;
  }

  /**
   * Mounts every recorded brick disk of the pool that is not mounted (by
   * filesystem UUID). The pool's state names each brick's filesystem
   * (when Cairn prepared it): a lost record is written again from it, and
   * a brick whose record or mounted filesystem is another one (its disk
   * was swapped) is reported, never mounted, and never restarted
   * (`wrongDisk`, read by restartDeadBricks).
   */
  private async mountBricks(pool: GlusterPool, problem: (msg: string) => void): Promise<void> {
    let mounted: Set<string> | undefined;
    for (const b of pool.bricks) {
      if (this.opts.host !== undefined && b.host !== this.opts.host) continue;
      this.wrongDisk.delete(b.path);
      let rec;
      try {
        rec = await readBrickRecord(b.path);
        if (!rec && b.fsUuid) {
          rec = await restoreBrickRecord(b.path, b.fsUuid);
          if (rec) this.opts.log?.warn({ pool: pool.id, brick: brickName(b), fsUuid: b.fsUuid }, 'brick record missing: written again from the pool state');
        }
      } catch (e) {
        problem(`brick ${brickName(b)}: ${message(e)}`);
        continue;
      }
      if (!rec) continue;
      if (brickIdentity(b.fsUuid, rec.fsUuid, undefined) === 'record-differs') {
        this.wrongDisk.add(b.path);
        problem(
          `brick ${brickName(b)}: the disk recorded at ${rec.mountPoint} (XFS filesystem UUID ${rec.fsUuid}) is not the brick's disk (${b.fsUuid}); ` +
            'it is not mounted or started: attach the brick\'s disk, or replace the brick',
        );
        continue;
      }
      mounted ??= await mountPoints();
      const out = await ensureMounted(rec, mounted);
      if (out.state === 'mounted-now') {
        this.opts.log?.info({ pool: pool.id, brick: brickName(b), device: out.device, fsUuid: rec.fsUuid }, 'brick disk mounted');
      } else if (out.state === 'mounted' && b.fsUuid) {
        const actual = await mountedFilesystemUuid(rec.mountPoint);
        if (brickIdentity(b.fsUuid, undefined, actual) === 'mounted-differs') {
          this.wrongDisk.add(b.path);
          problem(
            `brick ${brickName(b)}: the filesystem mounted at ${rec.mountPoint} (XFS UUID ${actual}) is not the brick's disk (${b.fsUuid}); ` +
              'it is not restarted: unmount it and attach the brick\'s disk, or replace the brick',
          );
        }
      } else if (out.state === 'disk-missing') {
        problem(`brick ${brickName(b)}: its disk (XFS filesystem UUID ${out.fsUuid}) is not attached; replace the brick`);
      } else if (out.state === 'failed') {
        problem(`brick ${brickName(b)}: its disk could not be mounted: ${out.message}`);
      }
    }
  }

  /** Whether a brick of the volume lives on this host (glusterd's own UUID). */
  private async isLocal(b: BrickRef): Promise<boolean> {
    if (this.opts.host !== undefined && b.host !== this.opts.host) return false;
    if (await readBrickRecord(b.path).catch(() => undefined)) return true;
    this.localUuid ??= (await new GlusterPeers(this.volumes.cli).list()).find((p) => p.self)?.uuid;
    return b.hostUuid !== '' && b.hostUuid === this.localUuid;
  }

  /**
   * Restarts this host's dead bricks whose data is in place, and its dead
   * self-heal daemon, with `volume start force` (glusterd starts whatever
   * of the volume is missing), with backoff; reports the bricks it must
   * not restart. Returns whether it ran `start force` now.
   */
  private async restartDead(pool: GlusterPool, info: VolumeInfo, down: BrickRef[], shdDown: boolean, problem: (msg: string) => void): Promise<boolean> {
    const mounted = await mountPoints();
    const ready: BrickRef[] = [];
    for (const b of down) {
      if (!(await this.isLocal(b))) continue;
      // Not its disk (reported by mountBricks): never started.
      if (this.wrongDisk.has(b.path)) continue;
      const r = await brickReadiness(b.path, mounted);
      if (r === 'ready') ready.push(b);
      // An absent disk was reported when mounting (with its filesystem UUID).
      else if (r !== 'disk-missing') problem(`brick ${b.name} is down and ${WHY_NOT_RESTARTED[r]}`);
    }
    if (ready.length === 0 && !shdDown) return false;
    const what = [...ready.map((b) => b.name), ...(shdDown ? ['the self-heal daemon'] : [])];
    const names = what.join(', ');
    // `start force` acts on every brick of the volume, and would stamp and start a
    // brick directory found on a bare mount point: refuse while one exists.
    const mine = info.bricks.filter((b) => this.opts.host === undefined || b.host === this.opts.host);
    const unsafe = await unsafeForForce(mine.map((b) => b.path), mounted);
    if (unsafe.length) {
      problem(`not restarting ${names}: ${unsafe.join(', ')} exist(s) on a mount point without its disk, and volume start force would use it; remove that directory or mount its disk`);
      return false;
    }
    const backoff = this.opts.restartBackoff ?? { initialMs: 5000, maxMs: 300_000 };
    const r = this.restarts.get(pool.id) ?? { attempts: 0, nextAt: 0 };
    this.restarts.set(pool.id, r);
    const now = Date.now();
    if (now < r.nextAt) {
      problem(`restarting ${names}: attempt ${r.attempts} did not bring ${what.length === 1 ? 'it' : 'them'} back${r.lastError ? ` (${r.lastError})` : ''}; next attempt in ${Math.ceil((r.nextAt - now) / 1000)} s`);
      return false;
    }
    r.attempts++;
    r.nextAt = now + Math.min(backoff.maxMs, backoff.initialMs * 2 ** (r.attempts - 1));
    this.opts.log?.warn({ pool: pool.id, bricks: ready.map((b) => b.name), selfHealDaemon: shdDown, attempt: r.attempts }, 'brick process(es) or self-heal daemon down: volume start force');
    this.opts.metrics?.brickRestarts.inc({ pool: pool.id });
    try {
      await this.volumes.start(volumeNameOf(pool), { force: true });
      delete r.lastError;
    } catch (e) {
      r.lastError = message(e);
      problem(`restarting ${names}: volume start force failed: ${r.lastError}`);
      return false;
    }
    return true;
  }

  /** Reads heal-count once: tracker, metrics. */
  /**
   * Files in split-brain. A file in split-brain stays in the heal index
   * (it cannot heal), so with nothing pending there is none and nothing is
   * asked. Otherwise `heal info summary` counts them; it walks every pending
   * entry (≈10 s while a brick is down), so it is asked only with every
   * brick up (a split-brain needs them all to be resolved anyway) and at
   * most once a minute per pool; between counts the last one stands.
   */
  private async splitBrainCount(poolId: string, volume: string, replicaCount: number, pending: number, down: number): Promise<number> {
    if (pending === 0) {
      this.splitBrain.delete(poolId);
      return 0;
    }
    const last = this.splitBrain.get(poolId);
    if (down > 0 || (last && Date.now() - last.at < (this.opts.splitBrainCheckMs ?? 60_000))) return last?.count ?? 0;
    const count = splitBrainOf((await this.volumes.heal(volume)).bricks, replicaCount);
    this.splitBrain.set(poolId, { count, at: Date.now() });
    return count;
  }

  private async sampleHeal(poolId: string, volume: string, replicaCount: number): Promise<HealProgress> {
    const bricks = await this.volumes.healCount(volume);
    let tracker = this.heal.get(poolId);
    if (!tracker) this.heal.set(poolId, (tracker = new HealTracker()));
    const p = tracker.add(bricks, replicaCount);
    const m = this.opts.metrics;
    if (m) {
      for (const b of bricks) if (b.entries !== null) m.healPending.set({ pool: poolId, brick: b.brick }, b.entries);
      m.healPendingTotal.set({ pool: poolId }, p.pending);
      if (p.etaSeconds === null) m.healEtaSeconds.remove({ pool: poolId });
      else m.healEtaSeconds.set({ pool: poolId }, p.etaSeconds);
    }
    return p;
  }

  /** Next watch tick, `period` after the start of the last one (a tick's CLI calls take 1–3 s). */
  private scheduleWatch(lastStart?: number): void {
    if (this.closed || this.watchTimer || (this.watched.size === 0 && this.waiting.size === 0)) return;
    const busy = this.waiting.size > 0 || [...this.watched.values()].some((w) => w.pending > 0 || w.down > 0);
    const period = busy ? (this.opts.healSampleMs ?? 4000) : (this.opts.watchMs ?? 15_000);
    const delay = lastStart === undefined ? period : Math.max(250, period - (Date.now() - lastStart));
    this.watchTimer = setTimeout(() => void this.watch(), delay);
    this.watchTimer.unref();
  }

  /**
   * One watch tick: brick status and heal-count per pool; a pass is asked
   * for when either changed, or when a volume this appliance waits for was
   * started by its creator (or the grace time for taking over is up).
   */
  private async watch(): Promise<void> {
    const started = Date.now();
    let changed = false;
    const grace = this.opts.creatorGraceMs ?? 60_000;
    for (const [poolId, w] of this.waiting) {
      if (this.closed) return;
      if (started - w.since >= grace) changed = true;
      else {
        const info = await this.volumes.info(volumeNameOf({ id: poolId })).catch(() => undefined);
        if (info?.state === 'Started') changed = true;
      }
    }
    for (const [poolId, w] of this.watched) {
      if (this.closed) return;
      try {
        const st = await this.volumes.status(w.volume, { detail: false });
        const online = new Set(st.bricks.filter((b) => b.online).map((b) => b.brick));
        const down = w.bricks.filter((b) => !online.has(b)).length + (selfHealDaemonDown(st.daemons, w) ? 1 : 0);
        if (down !== w.down) changed = true;
        w.down = down;
        // heal-count is answered by the self-heal daemon: it fails while that is dead.
        const heal = await this.sampleHeal(poolId, w.volume, w.replicaCount);
        if (heal.pending > 0 !== w.pending > 0) changed = true;
        w.pending = heal.pending;
      } catch (e) {
        this.opts.log?.debug({ pool: poolId, err: e }, 'gluster watch: volume not readable now');
      }
    }
    this.watchTimer = undefined;
    if (changed && !this.closed) this.opts.requestReconcile?.();
    this.scheduleWatch(started);
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
    this.closed = true;
    if (this.watchTimer) clearTimeout(this.watchTimer);
    this.watchTimer = undefined;
    for (const b of this.roots.values()) await b.close().catch(() => undefined);
    this.roots.clear();
  }
}

function waitingMessage(w: Waiting): string {
  return `waiting for ${w.creator} to ${w.step === 'create' ? 'create' : 'tune and start'} the volume`;
}

/** "1 h 5 min", "3 min 20 s", "45 s". */
export function formatSeconds(total: number): string {
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min ${sec} s`;
  return `${sec} s`;
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
