/**
 * The SMB driver: turns the state document into an `SmbDesired` (the only
 * place that knows both shapes) and hands it to SambaService, which renders
 * smb.conf, checks it with testparm, syncs the passdb and runs smbd.
 *
 * smbd is started on the first apply that has an SMB share, so an
 * appliance without SMB shares runs no Samba at all; once started it stays
 * up (users may still log in to list shares) until cairnd stops.
 * Problems come back per share or user, with the state object they belong to.
 *
 * Clustered SMB (issue 11): when `cluster` (a callback) reports CTDB enabled
 * and at least two appliances, the driver runs CTDB (smb/ctdb.ts) and
 * clustered Samba: ctdbd first, smbd only once ctdbd reports this node OK
 * (smbd with `clustering = yes` cannot start without it), the cluster's
 * NetBIOS name on every appliance, smbd listening on every address so it
 * answers on the public addresses CTDB moves here. Going back to one
 * appliance restarts smbd standalone and stops ctdbd.
 *
 * What the cluster-state side (appliance/src/cluster/, the `cairn-state`
 * volume) is expected to provide — this driver does not read it itself:
 *
 *   new SmbDriver({ dataDir, log, port: 445, cluster: async () => settings })
 *
 * where `settings` (SmbClusterSettings, or null while standalone) comes
 * from the shared cluster document:
 *  - `enabled`: the admin turned clustered SMB on (cluster-wide setting);
 *  - `nodes`: every member's private address in a stable order that is the
 *    same on every appliance (CTDB's PNN is the index): order of joining,
 *    a removed member's slot set to null rather than the list shortened;
 *  - `nodeAddress`: this appliance's entry;
 *  - `publicAddresses`: the floating addresses clients use (e.g. one per
 *    appliance), with prefix length and interface name;
 *  - `lockDir`: where this appliance has the lock volume mounted through
 *    FUSE — the same path on every appliance (ctdbd compares the lock path
 *    between nodes; the lock file is `lockDir/.ctdb-cluster-lock`). Use the
 *    `cairn-state` mount that state-sync.ts already keeps at
 *    DATA_DIR/cluster/state (daemon.ts; DATA_DIR is /var/lib/cairn on every
 *    appliance): it is the small replicated volume every member mounts.
 *    Add the server-side entries of CTDB_LOCK_VOLUME_OPTIONS (smb/ctdb.ts:
 *    server.tcp-user-timeout, server.keepalive-*) to STATE_VOLUME_OPTIONS
 *    so a dead leader's fcntl lock is released within seconds. Caveat: with
 *    two appliances the state volume is replica 2 with quorum on the first
 *    brick; if the first appliance dies, the survivor cannot take the lock
 *    and CTDB cannot recover — clustered SMB fails over reliably from three
 *    appliances on (or replica 2 + arbiter);
 *  - `netbiosName`: the cluster's name (≤ 15 characters), the same everywhere.
 * A removed appliance must first be set to null in every member's `nodes`
 * (ctdb reloadnodes runs on apply), then have its ctdbd stopped.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { glusterShareDir, volfileServerOf, volumeNameOf } from '../pool/gluster/driver.js';
import { localSharePath } from '../pool/local/driver.js';
import type { Driver, DriverResult, Problem } from '../reconcile/driver.js';
import type { Pool, Share, State } from '../state/schema.js';
import { stat } from 'node:fs/promises';
import { CtdbService, type CtdbIp, type CtdbPublicAddress, type CtdbStatus } from './ctdb.js';
import { SambaService } from './samba.js';
import type { SmbDesired, SmbShare, SmbShareBackend } from './types.js';

/** CTDB's cluster lock file, in the root of the lock volume. */
export const CTDB_LOCK_FILE = '.ctdb-cluster-lock';

/** Clustered SMB on this appliance; see the header for who provides it. */
export interface SmbClusterSettings {
  enabled: boolean;
  /** Every member's private address, PNN order, null = a removed member's slot. */
  nodes: (string | null)[];
  nodeAddress: string;
  publicAddresses: CtdbPublicAddress[];
  /** The lock volume's FUSE mount point, the same path on every appliance. */
  lockDir: string;
  netbiosName: string;
}

/**
 * CTDB as this appliance sees it, for GET /cluster/smb: whether ctdbd runs
 * here, its node map and who hosts each public address (`ctdb status -X`,
 * `ctdb ip -v -X`), and the cluster lock file while clustered.
 */
export interface CtdbRuntime {
  running: boolean;
  /** Why status and ips are missing although ctdbd runs (the tool failed or timed out). */
  error: string | null;
  status: CtdbStatus | null;
  ips: CtdbIp[];
  lockFile: string | null;
}

export interface SmbDriverOptions {
  dataDir: string;
  log: Logger;
  /** smbd's port: 445 on the appliance; 0 = a free port picked at start (tests). */
  port: number;
  /** The glusterd vfs_glusterfs asks for volume files; default: the pool's first brick host. */
  glusterVolfileServer?: string;
  /** Clustered SMB settings, asked on every apply; absent or null = standalone. */
  cluster?: () => Promise<SmbClusterSettings | null>;
  /** Passed to CtdbService (tests: a private /etc/ctdb and /run/ctdb bind-mounted in a namespace). */
  ctdb?: { configDir?: string; runDir?: string; commandPrefix?: string[]; realtime?: boolean };
  /** Passed to SambaService (tests: smbd in a namespace). */
  samba?: { commandPrefix?: string[]; probeHost?: string };
}

/** Clustered SMB wanted: enabled and at least two members. */
function clusteredOf(c: SmbClusterSettings | null): SmbClusterSettings | null {
  return c && c.enabled && c.nodes.filter((n) => n !== null).length >= 2 ? c : null;
}

/** Where a share's files are for Samba: a local directory, or a directory of a Gluster volume (vfs_glusterfs). */
function backendOf(pool: Pool, share: Share, glusterVolfileServer?: string): SmbShareBackend {
  if (pool.kind === 'local') return { kind: 'local', path: localSharePath(pool, share) };
  return { kind: 'gluster', volume: volumeNameOf(pool), volfileServers: [volfileServerOf(pool, glusterVolfileServer)], path: glusterShareDir(share) };
}

/** The SMB part of the state document, in Samba's terms. */
export function smbDesiredOf(state: State, port: number, opts: { glusterVolfileServer?: string } = {}): SmbDesired {
  const shares: SmbShare[] = [];
  for (const s of state.shares) {
    if (!s.smb.enabled) continue;
    const pool = state.pools.find((p) => p.id === s.pool);
    if (!pool) continue; // reported by smbProblemsOf
    let backend: SmbShareBackend;
    try {
      backend = backendOf(pool, s, opts.glusterVolfileServer);
    } catch {
      continue; // reported by smbProblemsOf
    }
    shares.push({
      name: s.name,
      backend,
      readOnly: s.smb.readOnly,
      browseable: s.smb.browseable,
      guestOk: s.smb.guestOk,
      validUsers: s.smb.validUsers,
      validGroups: s.smb.validGroups,
      hostsAllow: s.smb.hostsAllow,
      recycleBin: { enabled: s.smb.recycleBin },
      macos: { enabled: s.smb.macos, timeMachine: s.smb.timeMachine },
      encryption: s.smb.encryption,
    });
  }
  return {
    server: {
      netbiosName: state.settings.applianceName.slice(0, 15).toUpperCase(),
      workgroup: state.settings.smb.workgroup,
      port,
      serverString: `Cairn ${state.settings.applianceName}`,
    },
    shares,
    users: state.users.map((u) => ({ name: u.name, uid: u.uid, ntHash: u.ntHash, enabled: u.enabled })),
    groups: state.groups.map((g) => ({ name: g.name, gid: g.gid, members: g.members })),
  };
}

function smbProblemsOf(state: State): Problem[] {
  const problems: Problem[] = [];
  for (const s of state.shares) {
    if (!s.smb.enabled) continue;
    const pool = state.pools.find((p) => p.id === s.pool);
    if (!pool) {
      problems.push({ objectKind: 'share', objectId: s.name, message: `SMB: pool ${s.pool} does not exist` });
      continue;
    }
    try {
      backendOf(pool, s);
    } catch (e) {
      problems.push({ objectKind: 'share', objectId: s.name, message: `SMB: ${(e as Error).message}` });
    }
  }
  return problems;
}

/** Maps a problem path of SmbDesired ("shares.2.hostsAllow.0") to the state object. */
function toProblem(desired: SmbDesired, path: string, message: string): Problem {
  const [kind, index] = path.split('.');
  const i = Number(index);
  if (kind === 'shares' && desired.shares[i]) return { objectKind: 'share', objectId: desired.shares[i]!.name, message: `SMB: ${message}` };
  if (kind === 'users' && desired.users[i]) return { objectKind: 'user', objectId: desired.users[i]!.name, message: `SMB: ${message}` };
  if (kind === 'groups' && desired.groups[i]) return { objectKind: 'group', objectId: desired.groups[i]!.name, message: `SMB: ${message}` };
  return { objectKind: 'driver', objectId: 'smb', message: `SMB: ${path ? `${path}: ` : ''}${message}` };
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export class SmbDriver implements Driver {
  readonly name = 'smb';
  private readonly service: SambaService;
  private readonly ctdb: CtdbService;
  private ctdbRunning = false;
  private lockFile: string | null = null;
  private started = false;
  private announced = false;
  private port?: number;

  constructor(private readonly opts: SmbDriverOptions) {
    this.service = new SambaService({ dataDir: join(opts.dataDir, 'samba'), logger: opts.log, ...opts.samba });
    this.ctdb = new CtdbService({ dataDir: join(opts.dataDir, 'ctdb'), logger: opts.log, ...opts.ctdb });
  }

  /** The Samba service (status, paths). */
  get sambaService(): SambaService {
    return this.service;
  }

  /** The CTDB service (status and public addresses for the API and tests). */
  get ctdbService(): CtdbService {
    return this.ctdb;
  }

  /** CTDB's view from this appliance (never throws: a failing tool is reported in `error`). */
  async ctdbRuntime(): Promise<CtdbRuntime> {
    const base = { running: this.ctdbRunning, lockFile: this.ctdbRunning ? this.lockFile : null };
    if (!this.ctdbRunning) return { ...base, error: null, status: null, ips: [] };
    try {
      const [status, ips] = await Promise.all([this.ctdb.status(), this.ctdb.ips()]);
      return { ...base, error: null, status, ips };
    } catch (e) {
      return { ...base, error: (e as Error).message, status: null, ips: [] };
    }
  }

  /**
   * Brings CTDB to the cluster settings. True once ctdbd runs and this node
   * is OK; false (with a problem) while smbd must not run clustered yet.
   */
  private async applyCtdb(c: SmbClusterSettings, problems: Problem[]): Promise<boolean> {
    const driverProblem = (message: string) => problems.push({ objectKind: 'driver', objectId: 'smb', message: `CTDB: ${message}` });
    try {
      const st = await stat(c.lockDir);
      if (!st.isDirectory()) throw new Error('not a directory');
    } catch (e) {
      driverProblem(`the lock volume is not mounted at ${c.lockDir} (${(e as Error).message}); clustered SMB waits for it`);
      return false;
    }
    this.lockFile = join(c.lockDir, CTDB_LOCK_FILE);
    const r = await this.ctdb.configure({
      nodes: c.nodes,
      nodeAddress: c.nodeAddress,
      publicAddresses: c.publicAddresses,
      // In the volume's root: ctdb's fcntl helper creates the file, not directories.
      clusterLock: join(c.lockDir, CTDB_LOCK_FILE),
      realtime: this.opts.ctdb?.realtime,
    });
    for (const p of r.problems) driverProblem(`${p.path}: ${p.message}`);
    if (r.problems.length > 0 && !this.ctdbRunning) return false;
    try {
      if (!this.ctdbRunning) {
        await this.ctdb.start();
        this.ctdbRunning = true;
      }
      await this.ctdb.waitHealthy(60_000);
      return true;
    } catch (e) {
      driverProblem(`${(e as Error).message}; smbd is not started clustered until this node is OK`);
      return false;
    }
  }

  /** smbd's port once started. */
  get listeningPort(): number | undefined {
    return this.port;
  }

  async apply(state: State, signal: AbortSignal): Promise<DriverResult> {
    const problems = smbProblemsOf(state);
    const wanted = state.shares.some((s) => s.smb.enabled);
    if (!wanted && !this.started) return { problems, summary: 'SMB off (no shares)' };
    this.port ??= this.opts.port === 0 ? await freePort() : this.opts.port;
    const cluster = clusteredOf((await this.opts.cluster?.()) ?? null);
    // Clustered, each appliance's smbd asks its own glusterd for volume
    // files: the first brick's host may be the appliance that just died.
    const volfileServer = this.opts.glusterVolfileServer ?? (cluster ? 'localhost' : undefined);
    const desired = smbDesiredOf(state, this.port, { glusterVolfileServer: volfileServer });
    signal.throwIfAborted();
    if (cluster) {
      if (!(await this.applyCtdb(cluster, problems))) return { problems, summary: 'SMB waiting for CTDB' };
      desired.server.netbiosName = cluster.netbiosName;
      desired.server.cluster = { ctdbdSocket: this.ctdb.paths.socket };
      // Every address: the public ones come and go with CTDB.
      delete desired.server.interfaces;
    }
    signal.throwIfAborted();
    if (!this.started) {
      await this.service.start();
      this.started = true;
    }
    const result = await this.service.apply(desired);
    if (!this.announced && this.service.status().running) {
      this.announced = true;
      this.opts.log.info({ port: this.port }, 'smb listening');
    }
    for (const p of result.problems) problems.push(toProblem(desired, p.path, p.message));
    if (!cluster && this.ctdbRunning) {
      // smbd runs standalone again (the apply above restarted it): CTDB can go.
      await this.ctdb.stop();
      this.ctdbRunning = false;
    }
    const mode = cluster ? ` clustered (CTDB, ${cluster.nodes.filter((n) => n !== null).length} nodes)` : '';
    return { problems, summary: `SMB :${this.port} ${desired.shares.length} share(s)${mode}` };
  }

  async close(): Promise<void> {
    // smbd first: clustered, it needs ctdbd until it has exited.
    if (this.started) await this.service.stop();
    this.started = false;
    if (this.ctdbRunning) await this.ctdb.stop();
    this.ctdbRunning = false;
  }
}
