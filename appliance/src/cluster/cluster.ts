/**
 * Several appliances as one cluster: joining, membership and health, removal.
 *
 * Membership is Gluster's trusted pool (pool/gluster/peers.ts); Cairn adds
 * no consensus of its own. What cairnd adds is consent and shared secrets:
 *
 *   1. On B (alone), the admin asks for a join token: `issueJoinToken()`
 *      → shown in B's console (`POST /api/v1/cluster/join-token`).
 *   2. On A, the admin adds B by address + token: `addAppliance(addr, token)`
 *      (`POST /api/v1/cluster/members {address, token}`).
 *   3. A's cairnd calls B's cairnd (JoinTransport: in the product
 *      `POST https://B/api/v1/cluster/join` with a JoinRequest body; B's
 *      route calls `acceptJoin`). B checks the token (single use, 15 min),
 *      records the cluster id and the cluster-wide NFS handle secret, and
 *      answers with the host name it wants to be probed by.
 *   4. Only then A runs `gluster peer probe B` and waits for "Peer in
 *      Cluster". glusterd does no authentication of its own, which is why
 *      the token check comes first.
 *
 * The NFS file handle's MAC key (nfs/backend/filehandle.ts) must be the
 * same on every appliance, or a client that fails over from A to C gets
 * NFS3ERR_BADHANDLE/ESTALE: it is created with the cluster on A and handed
 * to each newcomer in the JoinRequest, then written to `handleSecretFile`
 * (0600, atomically) — the file `nfs-serve --fh-secret` and the NfsServer
 * of cairnd read. The gfapi backend's handles are volume id + GFID, the same
 * on every appliance of the volume.
 *
 * The shared desired state (volumes, shares, users): a small replicated
 * Gluster volume, `cairn-state` (replica 2 with the second appliance,
 * replica 3 from the third, one brick per appliance under
 * DATA_DIR/cluster/state-brick; state-volume.ts), FUSE-mounted on every
 * appliance at DATA_DIR/cluster/state, holding the cluster's document
 * (state-file.ts): written with temp-file + fsync + rename under a lock
 * (flock through Gluster's features/locks, cluster-wide), with numbered
 * revisions; read every second by every cairnd (state-sync.ts), which
 * merges it into its own document (shared-state.ts says exactly which
 * parts are the cluster's: gluster pools with their volumes and shares,
 * users, groups; and which stay local: settings, local pools and their
 * shares, disks, the cluster record, sessions, tokens). Why not "cairnd
 * with a single writer per change": that needs us to choose the writer,
 * to push the change to every peer and to reconcile peers that were down
 * — a replication protocol of our own. The Gluster volume gives quorum
 * (cluster.quorum-type auto: a minority side cannot write, so no split
 * brain; its cairnd answers 503 cluster_no_quorum), self-heal for an
 * appliance that was away, and the same failure behaviour as the data
 * itself; CTDB's recovery lock for clustered Samba needs such a small
 * volume anyway.
 *
 * Removing an appliance moves its bricks first (evacuate.ts): each onto
 * another appliance outside its replica set (replace-brick, then heal),
 * or a whole replica set by remove-brick; refused when a copy would be
 * lost. Each appliance publishes where it takes moved bricks in
 * members/<hostname>.json on the state volume.
 *
 * Between cairnds: HTTPS with a self-signed certificate per appliance;
 * the join token carries its pin (tls.ts, http-transport.ts).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { GlusterError } from '../pool/gluster/errors.js';
import type { GlusterPeers, Peer } from '../pool/gluster/peers.js';
import { splitBrick } from '../pool/gluster/xml.js';
import type { GlusterVolumes } from '../pool/gluster/volumes.js';
import { ClusterError } from './errors.js';
import { planEvacuation, runEvacuation, type EvacuationDeps, type EvacuationPlan, type MemberRecord, type Move, type Progress, type VolumeLayout } from './evacuate.js';
import type { SharedStateStatus } from './state-sync.js';
import { ensureStateVolume } from './state-volume.js';
import { joinTokenWithPin, splitJoinToken } from './tls.js';
import { JoinTokens, type IssuedToken } from './tokens.js';
import { writeFileAtomic } from '../state/atomic.js';

/** Sent by A to B's cairnd (B's API route passes it to acceptJoin). */
export interface JoinRequest {
  token: string;
  clusterId: string;
  /** A's host name, for B's logs and console. */
  inviter: string;
  /** The cluster-wide NFS handle secret, base64. */
  handleSecret: string;
}

export interface JoinReply {
  /** The name A must probe B by (resolvable by every member). */
  hostname: string;
  clusterId: string;
  /** Where B keeps its brick of the `cairn-state` volume (absolute path on B). */
  stateBrick?: string;
}

/** How A reaches B's cairnd. */
export interface JoinTransport {
  join(address: string, req: JoinRequest): Promise<JoinReply>;
}

/** This appliance's own record of the cluster it belongs to. */
export interface ClusterRecord {
  clusterId: string;
  joinedAt: string;
  /** The appliance that added this one; absent on the appliance that founded the cluster. */
  invitedBy?: string;
}

export interface Member {
  hostname: string;
  uuid: string;
  self: boolean;
  connected: boolean;
  /** glusterd's peer state, "Peer in Cluster" when joined. */
  state: string;
  /** Bricks of any volume on this appliance. */
  bricks: string[];
  health: 'ok' | 'unreachable' | 'joining';
}

export interface ClusterServiceOptions {
  /** This appliance's host name (as other members resolve it). */
  hostname: string;
  peers: GlusterPeers;
  volumes: GlusterVolumes;
  transport: JoinTransport;
  /** Directory for cluster.json (this appliance's ClusterRecord). */
  stateDir: string;
  /** The NFS handle secret file shared by all members. */
  handleSecretFile: string;
  tokens?: JoinTokens;
  /** Wait for a probed peer to be "Peer in Cluster", default 30 s. */
  joinTimeoutMs?: number;
  /**
   * This appliance's brick directory for the shared state volume. With it,
   * adding the 2nd and 3rd appliance creates / grows `cairn-state`
   * (state-volume.ts); without it (older tests) no state volume is made.
   */
  stateBrick?: string;
  log?: { info(o: object, msg: string): void };
  /** How often a brick move polls heal (default 3 s). */
  healPollMs?: number;
  /** The bounds of a removal's waits (evacuate.ts EvacuationDeps; each has a default). */
  evacuation?: Omit<EvacuationDeps, 'volumes' | 'peers' | 'onMoved' | 'healPollMs'>;
  /**
   * This appliance's TLS identity for cairnd-to-cairnd calls (tls.ts): with
   * it, join tokens carry the certificate's pin and the HTTPS port.
   */
  tls?: () => { pin: string; port: number } | undefined;
}

/** The part of the state sync the cluster service uses. */
export interface StateSyncView {
  status(): SharedStateStatus;
  memberRecords?(): Promise<Map<string, MemberRecord>>;
}

const SECRET_BYTES = 32;

export class ClusterService {
  private readonly tokens: JoinTokens;
  private sync: StateSyncView | undefined;

  constructor(private readonly opts: ClusterServiceOptions) {
    this.tokens = opts.tokens ?? new JoinTokens();
  }

  get hostname(): string {
    return this.opts.hostname;
  }

  /** The shared state's sync (daemon.ts wires it), for the API's view. */
  attachStateSync(sync: StateSyncView | undefined): void {
    this.sync = sync;
  }

  sharedState(): SharedStateStatus | undefined {
    return this.sync?.status();
  }

  /** Whether this appliance founded its cluster (it creates and seeds the shared state volume); false when invited or alone. */
  async founded(): Promise<boolean> {
    const rec = await this.record();
    return rec !== undefined && rec.invitedBy === undefined;
  }

  /** The cluster this appliance belongs to, if any. */
  async record(): Promise<ClusterRecord | undefined> {
    try {
      return JSON.parse(await readFile(join(this.opts.stateDir, 'cluster.json'), 'utf8')) as ClusterRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /**
   * On B: a token to type into A's console. Refused once B has peers. With
   * a TLS identity, the token is `SECRET.PIN`: A then joins over HTTPS and
   * pins B's certificate (tls.ts).
   */
  async issueJoinToken(): Promise<IssuedToken & { fingerprint?: string; clusterPort?: number }> {
    if ((await this.opts.peers.status()).length > 0) {
      throw new ClusterError('ALREADY_IN_CLUSTER', `${this.opts.hostname} is already in a cluster: remove it there first`);
    }
    const issued = this.tokens.issue();
    const tls = this.opts.tls?.();
    if (!tls) return issued;
    return { token: joinTokenWithPin(issued.token, tls.pin), expiresAt: issued.expiresAt, fingerprint: tls.pin, clusterPort: tls.port };
  }

  /** On B: A asks to add us. Checks the token, then stores the cluster's id and secret. */
  async acceptJoin(req: JoinRequest): Promise<JoinReply> {
    if (!req || typeof req.clusterId !== 'string' || !/^[0-9a-f-]{36}$/.test(req.clusterId)) {
      throw new ClusterError('INVALID_ARGUMENT', 'join request without a valid cluster id');
    }
    const secret = Buffer.from(String(req.handleSecret ?? ''), 'base64');
    if (secret.length < 16) throw new ClusterError('INVALID_ARGUMENT', 'join request without a handle secret');
    this.tokens.consume(splitJoinToken(String(req.token ?? '')).secret);
    const own = await this.record();
    if (own && own.clusterId !== req.clusterId && (await this.opts.peers.status()).length > 0) {
      throw new ClusterError('ALREADY_IN_CLUSTER', `${this.opts.hostname} belongs to cluster ${own.clusterId}`);
    }
    await atomicWrite(this.opts.handleSecretFile, secret, 0o600);
    await this.writeRecord({ clusterId: req.clusterId, joinedAt: new Date().toISOString(), ...(typeof req.inviter === 'string' && req.inviter ? { invitedBy: req.inviter } : {}) });
    return { hostname: this.opts.hostname, clusterId: req.clusterId, ...(this.opts.stateBrick ? { stateBrick: this.opts.stateBrick } : {}) };
  }

  /** On A: adds the appliance at `address` that shows `token`. Returns it as a member. */
  async addAppliance(address: string, token: string): Promise<Member> {
    if (typeof address !== 'string' || address.trim() === '') throw new ClusterError('INVALID_ARGUMENT', 'an address is required');
    const rec = await this.ensureCluster();
    const secret = await readFile(this.opts.handleSecretFile);
    let reply: JoinReply;
    try {
      reply = await this.opts.transport.join(address, { token, clusterId: rec.clusterId, inviter: this.opts.hostname, handleSecret: secret.toString('base64') });
    } catch (err) {
      if (err instanceof ClusterError) throw err;
      throw new ClusterError('JOIN_UNREACHABLE', `cairnd at ${address} did not answer: ${(err as Error).message}`);
    }
    try {
      await this.probeJoined(reply.hostname);
    } catch (err) {
      if (err instanceof GlusterError) throw new ClusterError('JOIN_FAILED', `peer probe of ${reply.hostname}: ${err.message}`);
      throw err;
    }
    if (this.opts.stateBrick) {
      try {
        const did = await ensureStateVolume(this.opts.volumes, { hostname: this.opts.hostname, stateBrick: this.opts.stateBrick }, reply);
        if (did !== 'unchanged') this.opts.log?.info({ volume: 'cairn-state', did, newcomer: reply.hostname }, 'cluster: state volume updated');
      } catch (err) {
        if (err instanceof GlusterError) {
          throw new ClusterError('JOIN_FAILED', `${reply.hostname} joined the pool, but the shared state volume could not be made: ${err.message}`);
        }
        throw err;
      }
    }
    const m = (await this.members()).find((x) => x.hostname === reply.hostname);
    if (!m) throw new ClusterError('JOIN_FAILED', `${reply.hostname} is not listed in the pool after the probe`);
    return m;
  }

  /**
   * `peer probe`, then waits (bounded by `joinTimeoutMs`) for a connected
   * "Peer in Cluster". A newcomer that glusterd marks "Peer Rejected" (the
   * copy of a volume's configuration it imported does not match this
   * appliance's) is detached — a detached
   * glusterd drops the volumes it had imported ("Deleting stale volume",
   * seen in the lab) — and probed again, twice at most; then the join
   * fails saying so. A rejection that repeats is the members disagreeing
   * among themselves (measured: a replica-raising add-brick whose commit
   * failed on one member), which only an admin can repair.
   */
  private async probeJoined(host: string): Promise<void> {
    const timeoutMs = this.opts.joinTimeoutMs ?? 30_000;
    for (let attempt = 1; ; attempt++) {
      await this.opts.peers.probe(host);
      const deadline = Date.now() + timeoutMs;
      let seen = '';
      for (;;) {
        const p = (await this.opts.peers.status()).find((x) => x.hostnames.includes(host));
        if (p?.connected && p.state === 'Peer in Cluster') return;
        seen = p ? `${p.state}${p.connected ? '' : ' (disconnected)'}` : 'not listed';
        if (p && /Rejected/i.test(p.state)) break;
        if (Date.now() > deadline) throw new GlusterError('GLUSTER_TIMEOUT', `${host} not in the pool after ${timeoutMs} ms (${seen})`);
        await new Promise((r) => setTimeout(r, 250));
      }
      if (attempt >= 3) {
        throw new GlusterError(
          'GLUSTER_FAILED',
          `glusterd marked ${host} "${seen}" ${attempt} times: the copy of a volume's configuration it got does not match this appliance's ` +
            `(glusterd.log here names the volume: "Version of Cksums … differ"); the members themselves may disagree on it (a commit that failed on one of them): ` +
            `restart glusterd on the member whose copy differs, then add ${host} again`,
        );
      }
      this.opts.log?.info({ newcomer: host, state: seen, attempt }, 'cluster: the newcomer was rejected by glusterd: detaching it and probing again');
      await this.opts.peers.detach(host).catch(() => this.opts.peers.detach(host, { force: true }));
      const gone = Date.now() + 15_000;
      while ((await this.opts.peers.status()).some((x) => x.hostnames.includes(host)) && Date.now() < gone) await new Promise((r) => setTimeout(r, 500));
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  /** Every appliance of the pool with its health and bricks. */
  async members(): Promise<Member[]> {
    const [pool, bricks] = await Promise.all([this.opts.peers.list(), this.bricksByHost()]);
    return pool.map((p: Peer) => {
      const hostname = p.self ? this.opts.hostname : p.hostname;
      const names = p.self ? [this.opts.hostname, 'localhost'] : p.hostnames;
      return {
        hostname,
        uuid: p.uuid,
        self: p.self,
        connected: p.connected,
        state: p.self ? 'Peer in Cluster' : p.state,
        bricks: names.flatMap((n) => bricks.get(n) ?? []),
        health: !p.connected ? 'unreachable' : p.self || p.state === 'Peer in Cluster' ? 'ok' : 'joining',
      } satisfies Member;
    });
  }

  /**
   * Removes an appliance from the pool. Its bricks must be moved first
   * (replace-brick onto another appliance, then heal): while it holds any,
   * HOLDS_BRICKS lists them and nothing is changed.
   */
  async removeAppliance(hostname: string): Promise<void> {
    const m = (await this.members()).find((x) => x.hostname === hostname && !x.self);
    if (!m) throw new ClusterError('NOT_A_MEMBER', `${hostname} is not another member of this cluster`);
    if (m.bricks.length > 0) {
      throw new ClusterError('HOLDS_BRICKS', `${hostname} still holds bricks (${m.bricks.join(', ')}): move them to another appliance first`);
    }
    try {
      await this.opts.peers.detach(hostname);
    } catch (err) {
      if (err instanceof GlusterError) throw new ClusterError('JOIN_FAILED', `peer detach ${hostname}: ${err.message}`);
      throw err;
    }
  }

  /**
   * What removing `hostname` takes (evacuate.ts): no moves when it holds no
   * bricks; HOLDS_BRICKS, saying why, when a brick has nowhere to go.
   */
  async planRemoval(hostname: string): Promise<EvacuationPlan> {
    const members = await this.members();
    const m = members.find((x) => x.hostname === hostname && !x.self);
    if (!m) throw new ClusterError('NOT_A_MEMBER', `${hostname} is not another member of this cluster`);
    if (m.bricks.length === 0) return { moves: [], refusals: [] };
    const layouts: VolumeLayout[] = [];
    const unknown: string[] = [];
    for (const name of await this.opts.volumes.list()) {
      const info = await this.opts.volumes.info(name);
      // A layout glusterd did not report (no replica count) is never planned on.
      if (!(info.replicaCount >= 1)) {
        if (info.bricks.some((b) => splitBrick(b.name).host === hostname)) unknown.push(name);
        continue;
      }
      layouts.push({ name, bricks: info.bricks.map((b) => b.name), replica: info.replicaCount });
    }
    if (unknown.length) {
      throw new ClusterError('HOLDS_BRICKS', `${hostname} still holds bricks (${m.bricks.join(', ')}); the layout of volume ${unknown.join(', ')} is unknown, so they cannot be moved: move them to another appliance first`);
    }
    const candidates = members.filter((x) => x.hostname !== hostname && x.health === 'ok').map((x) => x.hostname);
    const records = (await this.sync?.memberRecords?.().catch(() => undefined)) ?? new Map<string, MemberRecord>();
    const plan = planEvacuation(hostname, layouts, candidates, records);
    if (plan.refusals.length) {
      throw new ClusterError('HOLDS_BRICKS', `${hostname} still holds bricks (${m.bricks.join(', ')}) and they cannot all be moved: ${plan.refusals.join('; ')}`);
    }
    return plan;
  }

  /** Moves `hostname`'s bricks as planned, waits for heal, then detaches it (run as a task). */
  async evacuate(hostname: string, moves: Move[], t: Progress, onMoved?: (m: Move) => Promise<void>): Promise<string> {
    const deps: EvacuationDeps = { ...this.opts.evacuation, volumes: this.opts.volumes, peers: this.opts.peers, ...(onMoved ? { onMoved } : {}), ...(this.opts.healPollMs ? { healPollMs: this.opts.healPollMs } : {}) };
    return runEvacuation(hostname, moves, deps, t);
  }

  /** The first appliance creates the cluster: an id and the handle secret. */
  private async ensureCluster(): Promise<ClusterRecord> {
    const rec = await this.record();
    if (rec) return rec;
    let secretExists = true;
    try {
      if ((await readFile(this.opts.handleSecretFile)).length < 16) secretExists = false;
    } catch {
      secretExists = false;
    }
    // An appliance that served NFS alone keeps its secret, so its clients' handles stay valid.
    if (!secretExists) await atomicWrite(this.opts.handleSecretFile, randomBytes(SECRET_BYTES), 0o600);
    const created: ClusterRecord = { clusterId: randomUUID(), joinedAt: new Date().toISOString() };
    await this.writeRecord(created);
    return created;
  }

  private async writeRecord(rec: ClusterRecord): Promise<void> {
    await atomicWrite(join(this.opts.stateDir, 'cluster.json'), Buffer.from(JSON.stringify(rec, null, 2)), 0o644);
  }

  private async bricksByHost(): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const name of await this.opts.volumes.list()) {
      const info = await this.opts.volumes.info(name);
      for (const b of info.bricks) {
        const { host } = splitBrick(b.name);
        out.set(host, [...(out.get(host) ?? []), b.name]);
      }
    }
    return out;
  }
}

/**
 * Pure: the bricks of the shared state volume for the given appliances
 * (in join order): replica 3 on the first three; replica 2 + arbiter is
 * not possible with two (an arbiter needs a third host), so two appliances
 * get replica 2 and the console warns that losing either stops changes.
 */
export function stateVolumeLayout(hosts: string[], brickDir: (host: string) => string): { bricks: string[]; replica: number } {
  if (hosts.length === 0) throw new ClusterError('INVALID_ARGUMENT', 'no appliances');
  const chosen = hosts.slice(0, 3);
  return { bricks: chosen.map((h) => `${h}:${brickDir(h)}`), replica: chosen.length };
}

async function atomicWrite(path: string, data: Buffer, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, data, mode);
}
