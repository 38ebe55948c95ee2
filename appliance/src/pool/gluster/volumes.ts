/**
 * Gluster volumes for Cairn pools: create (replica N, or replica 2 +
 * arbiter), tune for VM datastores, start/stop/delete, expand, replace a
 * failed brick, and read status, capacity and heal state — all typed,
 * all through GlusterCli.
 *
 * Notes from operating Gluster 10:
 *  - Replica bricks on one server are refused without `force` (glusterd
 *    errno 30800, "Multiple bricks of a replicate volume are present on
 *    the same server"): one appliance replicating across its own disks
 *    must pass `force`.
 *  - `replica 3 arbiter 1` is how "replica 2 + arbiter" is spelled; every
 *    third brick is the arbiter (metadata only).
 *  - A brick process that died is restarted by `volume start NAME force`;
 *    self-heal then runs by itself (no `heal` command needed).
 *  - replace-brick supports only `commit force`: the new brick is empty
 *    and the self-heal daemon refills it from the other replicas.
 */
import { GlusterCli } from './cli.js';
import { GlusterError } from './errors.js';
import { parseHealCount, type HealCountBrick } from './heal.js';
import {
  parseHealInfo,
  parseVolumeCreate,
  parseVolumeInfo,
  parseVolumeList,
  parseVolumeStatus,
  type BrickStatus,
  type DaemonStatus,
  type HealBrick,
  type VolumeInfo,
  type VolumeStatus,
} from './xml.js';

export type { BrickStatus, DaemonStatus, HealBrick, VolumeInfo, VolumeStatus } from './xml.js';

export interface CreateVolumeSpec {
  name: string;
  /** "host:/path" in replica-set order (with an arbiter: every third is the arbiter). */
  bricks: string[];
  /** Copies of the data (2 or 3; 1 = no replication, distribute only). */
  replica: 1 | 2 | 3;
  /** replica 2 + arbiter: `replica` must be 2; bricks come in threes. */
  arbiter?: boolean;
  /** Needed when several bricks of a replica set share a server. */
  force?: boolean;
}

/**
 * Options a VM datastore needs, applied after the `virt` group profile
 * (which already brings sharding, eager locking, O_DIRECT passthrough,
 * client and server quorum). The timeouts decide how long writers stall
 * when a node vanishes: with defaults ~68 s, with
 * client.tcp-user-timeout 5 about 5.5 s (measured, see FACTS).
 *
 * Quorum: `cluster.quorum-type auto` — with 2 of 3 bricks down, writes
 * AND reads fail with ENOTCONN (NFS3ERR_JUKEBOX). Gluster 10 has no option
 * for reads without quorum (`cluster.quorum-reads` "has been removed");
 * the only way to get them, a quorum-count of 1, lets the one brick left
 * serve bytes it missed without an error (the blame sits in the xattrs of
 * the bricks that are down), so it is not used: see
 * test/pool/gluster/failure.test.ts for the measurements.
 */
export const VM_DATASTORE_OPTIONS: ReadonlyArray<readonly [string, string]> = [
  ['cluster.quorum-type', 'auto'],
  ['network.ping-timeout', '10'],
  ['client.tcp-user-timeout', '5'],
  ['cluster.self-heal-daemon', 'on'],
];

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const BRICK_RE = /^[A-Za-z0-9._-]+:\/[^\s]*$/;

function checkName(name: string): void {
  if (!NAME_RE.test(name)) throw new GlusterError('INVALID_ARGUMENT', `volume name ${JSON.stringify(name)}: use letters, digits, _ and -`);
}

function checkBricks(bricks: readonly string[]): void {
  for (const b of bricks) {
    if (!BRICK_RE.test(b)) throw new GlusterError('INVALID_ARGUMENT', `brick ${JSON.stringify(b)}: expected host:/absolute/path`);
  }
  if (new Set(bricks).size !== bricks.length) throw new GlusterError('INVALID_ARGUMENT', 'the same brick is listed twice');
}

export type VolumeHealth = 'healthy' | 'degraded' | 'healing' | 'down' | 'stopped';

export interface Capacity {
  /** Usable bytes: per replica set the smallest data brick, summed over sets. */
  totalBytes: number;
  freeBytes: number;
  usedBytes: number;
}

export interface HealState {
  bricks: HealBrick[];
  /** Sum of entries pending over the bricks that could be asked. */
  pending: number;
  /** Bricks that could not be asked (down), or answered without a count: their entries are unknown. */
  unreachable: number;
}

export class GlusterVolumes {
  constructor(readonly cli: GlusterCli = new GlusterCli()) {}

  async list(): Promise<string[]> {
    return parseVolumeList(await this.cli.run(['volume', 'list']));
  }

  async info(name: string): Promise<VolumeInfo> {
    checkName(name);
    const [v] = parseVolumeInfo(await this.cli.run(['volume', 'info', name]));
    if (!v) throw new GlusterError('GLUSTER_FAILED', `volume ${name} does not exist`);
    return v;
  }

  /** Creates (does not start) a volume. Returns its UUID. */
  async create(spec: CreateVolumeSpec): Promise<{ name: string; id: string }> {
    checkName(spec.name);
    checkBricks(spec.bricks);
    const args = ['volume', 'create', spec.name];
    if (spec.arbiter) {
      if (spec.replica !== 2) throw new GlusterError('INVALID_ARGUMENT', 'an arbiter goes with replica 2');
      if (spec.bricks.length % 3 !== 0) throw new GlusterError('INVALID_ARGUMENT', 'replica 2 + arbiter needs bricks in threes');
      args.push('replica', '3', 'arbiter', '1');
    } else if (spec.replica > 1) {
      if (spec.bricks.length % spec.replica !== 0) {
        throw new GlusterError('INVALID_ARGUMENT', `replica ${spec.replica} needs a multiple of ${spec.replica} bricks`);
      }
      args.push('replica', String(spec.replica));
    } else if (spec.bricks.length === 0) {
      throw new GlusterError('INVALID_ARGUMENT', 'no bricks');
    }
    args.push(...spec.bricks);
    if (spec.force) args.push('force');
    return parseVolumeCreate(await this.cli.run(args));
  }

  async set(name: string, key: string, value: string): Promise<void> {
    checkName(name);
    await this.cli.run(['volume', 'set', name, key, value]);
  }

  /** The `virt` group profile, then VM_DATASTORE_OPTIONS. */
  async applyVmDatastoreOptions(name: string): Promise<void> {
    await this.set(name, 'group', 'virt');
    for (const [k, v] of VM_DATASTORE_OPTIONS) await this.set(name, k, v);
  }

  /** Starts a volume; with `force`, also restarts brick processes that died. */
  async start(name: string, opts: { force?: boolean } = {}): Promise<void> {
    checkName(name);
    await this.cli.run(['volume', 'start', name, ...(opts.force ? ['force'] : [])]);
  }

  async stop(name: string, opts: { force?: boolean } = {}): Promise<void> {
    checkName(name);
    await this.cli.run(['volume', 'stop', name, ...(opts.force ? ['force'] : [])]);
  }

  /** Deletes a stopped volume (the brick directories stay on disk). */
  async delete(name: string): Promise<void> {
    checkName(name);
    await this.cli.run(['volume', 'delete', name]);
  }

  /** Expands by whole replica sets (or raises the replica count with `replica`). */
  async addBrick(name: string, bricks: string[], opts: { replica?: number; force?: boolean } = {}): Promise<void> {
    checkName(name);
    checkBricks(bricks);
    const args = ['volume', 'add-brick', name];
    if (opts.replica) args.push('replica', String(opts.replica));
    args.push(...bricks);
    if (opts.force) args.push('force');
    await this.cli.run(args);
  }

  /**
   * Swaps a failed brick for an empty one (`commit force`, the only mode
   * Gluster 10 has). Self-heal copies the data onto it; watch `heal()`.
   */
  async replaceBrick(name: string, oldBrick: string, newBrick: string): Promise<void> {
    checkName(name);
    checkBricks([oldBrick, newBrick]);
    await this.cli.run(['volume', 'replace-brick', name, oldBrick, newBrick, 'commit', 'force']);
    // The self-heal daemon is restarted with the new graph and may connect
    // before the pending marks exist; its next own crawl is up to
    // cluster.heal-timeout (600 s) away. Ask for an index heal now.
    await this.triggerHeal(name);
  }

  /**
   * Starts healing now instead of at the self-heal daemon's next crawl:
   * an index heal (entries known to need it) or, with `full`, a crawl of
   * everything. Retried for a few seconds while the daemon restarts.
   */
  async triggerHeal(name: string, opts: { full?: boolean } = {}): Promise<void> {
    checkName(name);
    const args = ['volume', 'heal', name, ...(opts.full ? ['full'] : [])];
    for (let attempt = 0; ; attempt++) {
      try {
        // `volume heal` answers in plain text even with --xml.
        await this.cli.runPlain(args);
        return;
      } catch (err) {
        if (attempt >= 10 || !(err instanceof GlusterError) || err.code !== 'GLUSTER_FAILED') throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** Brick processes, ports, pids and (with detail, the default) capacity. */
  async status(name: string, opts: { detail?: boolean } = {}): Promise<VolumeStatus> {
    checkName(name);
    const args = ['volume', 'status', name];
    if (opts.detail !== false) args.push('detail');
    const [s] = parseVolumeStatus(await this.cli.run(args));
    if (!s) throw new GlusterError('GLUSTER_BAD_OUTPUT', `volume status ${name}: no volume in reply`);
    return s;
  }

  /** `volume status NAME shd`: the self-heal daemons of a replicated volume (none for another). */
  async selfHealDaemons(name: string): Promise<DaemonStatus[]> {
    checkName(name);
    const [s] = parseVolumeStatus(await this.cli.run(['volume', 'status', name, 'shd']));
    return s?.daemons ?? [];
  }

  /** Usable capacity from `status detail`, counting only bricks that are up. */
  async capacity(name: string): Promise<Capacity> {
    const [info, status] = await Promise.all([this.info(name), this.status(name)]);
    return capacityOf(info, status.bricks);
  }

  /**
   * Entries pending heal per brick: `heal info summary` (which also splits
   * pending / split-brain / possibly healing), or plain `heal info` when
   * summary is not available. Slow (≈10 s) while a brick is down.
   */
  async heal(name: string): Promise<HealState> {
    checkName(name);
    let bricks: HealBrick[];
    try {
      bricks = parseHealInfo(await this.cli.run(['volume', 'heal', name, 'info', 'summary']));
    } catch (err) {
      if (!(err instanceof GlusterError) || err.code !== 'GLUSTER_FAILED' || !/summary|usage/i.test(err.message)) throw err;
      bricks = parseHealInfo(await this.cli.run(['volume', 'heal', name, 'info']));
    }
    // Never "nothing pending" from an answer that named no brick at all
    // (as healCount): callers take 0 pending and 0 unreachable as healed.
    if (bricks.length === 0) throw new GlusterError('GLUSTER_BAD_OUTPUT', `heal info of ${name}: no brick in the answer`);
    return {
      bricks,
      pending: bricks.reduce((n, b) => n + (b.entries ?? 0), 0),
      unreachable: bricks.filter((b) => !b.connected || b.entries === null).length,
    };
  }

  /**
   * Entries in each brick's heal index (`heal … statistics heal-count`):
   * about a second even while a brick is down, so cheap enough to poll
   * every few seconds. Text only (no --xml form); parsed in heal.ts.
   * The count comes from the self-heal daemon: when it is off
   * (`cluster.self-heal-daemon off`) glusterd refuses, and the slower
   * `heal info` (which needs no daemon) answers instead.
   */
  async healCount(name: string): Promise<HealCountBrick[]> {
    checkName(name);
    try {
      const bricks = parseHealCount(await this.cli.runPlain(['volume', 'heal', name, 'statistics', 'heal-count'], { timeoutMs: 30_000 }));
      // Never "nothing pending" from an answer that named no brick at all.
      if (bricks.length === 0) throw new GlusterError('GLUSTER_BAD_OUTPUT', `heal-count of ${name}: no brick in the answer`);
      return bricks;
    } catch (err) {
      if (!(err instanceof GlusterError) || err.code !== 'GLUSTER_FAILED' || !/self-heal-daemon is disabled/i.test(err.message)) throw err;
      return (await this.heal(name)).bricks.map((b) => ({ brick: b.brick, connected: b.connected, entries: b.entries }));
    }
  }

  /** One word for the console: stopped, down (no quorum), degraded, healing or healthy. */
  async health(name: string): Promise<VolumeHealth> {
    const info = await this.info(name);
    if (info.state !== 'Started') return 'stopped';
    const status = await this.status(name, { detail: false });
    const byName = new Map(status.bricks.map((b) => [b.brick, b]));
    let degraded = false;
    for (let i = 0; i < info.bricks.length; i += info.replicaCount) {
      const set = info.bricks.slice(i, i + info.replicaCount);
      const up = set.filter((b) => byName.get(b.name)?.online).length;
      if (up * 2 <= set.length) return 'down';
      if (up < set.length) degraded = true;
    }
    if (degraded) return 'degraded';
    const heal = await this.heal(name);
    return heal.pending > 0 ? 'healing' : 'healthy';
  }
}

/** Pure: usable capacity of a volume from its layout and brick figures. */
export function capacityOf(info: VolumeInfo, bricks: BrickStatus[]): Capacity {
  const byName = new Map(bricks.map((b) => [b.brick, b]));
  let total = 0;
  let free = 0;
  const per = Math.max(1, info.replicaCount);
  for (let i = 0; i < info.bricks.length; i += per) {
    const data = info.bricks
      .slice(i, i + per)
      .filter((b) => !b.isArbiter)
      .map((b) => byName.get(b.name))
      .filter((b): b is BrickStatus => !!b && b.online && b.sizeTotal !== undefined);
    if (data.length === 0) continue;
    total += Math.min(...data.map((b) => b.sizeTotal!));
    free += Math.min(...data.map((b) => b.sizeFree!));
  }
  return { totalBytes: total, freeBytes: free, usedBytes: total - free };
}
