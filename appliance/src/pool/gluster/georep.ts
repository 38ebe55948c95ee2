/**
 * Gluster geo-replication: asynchronous replication of a volume to a
 * volume on a remote appliance (a remote site), via gsyncd over ssh.
 *
 * Setup, run on an appliance of the primary cluster (root ssh to the
 * secondary's sshd must work without a password first):
 *
 *   gsecCreate()                  `system:: execute gsec_create`: the
 *                                 common pem keys of every primary node
 *   create(p, host, s, {pushPem}) `volume geo-replication P HOST::S create
 *                                 [ssh-port N] push-pem [force]`
 *   start / stop / pause / resume / delete
 *   status(p)                     one row per primary brick (`--xml`)
 *   summary(pairs, now)           the console's figures: state, last
 *                                 synced time, lag, pending changes
 *
 * Needs on every primary node glusterd's `hooks/1/gsync-create` hook
 * (push-pem refuses without it) and rsync; on the secondary, sshd.
 *
 * Glusterfs 10.x names the sides "primary"/"secondary" in the XML
 * (`primary_node`, `secondary_node`, `session_secondary`…); older
 * releases said master/slave. The parser accepts both.
 *
 * Status words (gsyncd): Created, Initializing..., Active (this brick's
 * worker syncs), Passive (its replica peer does), Faulty, Paused, Stopped,
 * Offline (node down). `last_synced` is the primary node's local time
 * "YYYY-MM-DD HH:MM:SS" of the last changelog fully synced, or "N/A"; the
 * lag is "now - last synced" over the Active workers (the oldest one).
 *
 * Failover and failback (GeoRepFailover below; `cairn-georep`, docs/geo-replication.md):
 * when the primary site is lost, stop the session (from any surviving
 * primary node, or skip it if none), make the secondary volume writable
 * and serve it; to fail back, create the reverse session secondary →
 * primary, let it catch up (lag 0, checkpoint completed), stop writes,
 * then swap the roles back.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rmdir, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { GlusterCli } from './cli.js';
import { GlusterError } from './errors.js';
import { checkHost } from './peers.js';
import type { CliOutput } from './xml.js';

export type GeoRepStatus = 'Created' | 'Initializing...' | 'Active' | 'Passive' | 'Faulty' | 'Paused' | 'Stopped' | 'Offline' | string;

export interface GeoRepPair {
  primaryNode: string;
  primaryBrick: string;
  secondaryUser: string;
  /** "ssh://host::volume" as gsyncd names it. */
  secondary: string;
  secondaryNode: string | null;
  status: GeoRepStatus;
  crawlStatus: string | null;
  /** Pending entry/data/metadata operations; null when "N/A". */
  entry: number | null;
  data: number | null;
  meta: number | null;
  failures: number | null;
  /** When this worker last synced, ISO 8601 without zone (primary node's local time), or null. */
  lastSynced: string | null;
  checkpointTime: string | null;
  checkpointCompleted: boolean;
}

export interface GeoRepSession {
  primaryVolume: string;
  /** The session's secondary as glusterd keys it. */
  secondary: string;
  pairs: GeoRepPair[];
}

export interface GeoRepSummary {
  state: 'active' | 'faulty' | 'paused' | 'stopped' | 'initializing' | 'created' | 'offline';
  /** Oldest last-synced time over the Active workers, or null. */
  lastSynced: string | null;
  /** now - lastSynced, seconds; null until the first sync. */
  lagSeconds: number | null;
  /** entry + data + meta over all workers (the batch in flight). */
  pending: number;
  failures: number;
  /**
   * Active, every active worker in Changelog Crawl with nothing pending
   * and no failures. gsyncd moves "last synced" only when a change syncs,
   * so on an idle volume the lag grows although nothing waits: the console
   * shows "in sync" then, and the lag as "last change synced … ago".
   */
  upToDate: boolean;
  /** The checkpoint set last (`checkpoint now`), if any, and whether every active worker reached it. */
  checkpoint: { time: string; completed: boolean } | null;
}

type Node = Record<string, unknown>;
const asArr = (v: unknown): Node[] => (Array.isArray(v) ? (v as Node[]) : v && typeof v === 'object' ? [v as Node] : []);
const str = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'object' ? String((v as Node)['#text'] ?? '') : String(v).trim());
const pick = (n: Node, ...keys: string[]): string => {
  for (const k of keys) if (n[k] !== undefined) return str(n[k]);
  return '';
};
const num = (s: string): number | null => (/^\d+$/.test(s) ? Number(s) : null);
const na = (s: string): string | null => (s === '' || s === 'N/A' ? null : s);
const time = (s: string): string | null => {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})$/.exec(s);
  return m ? `${m[1]}T${m[2]}` : null;
};

/** Pure: `volume geo-replication [P] status --xml` to sessions. */
export function parseGeoRepStatus(out: CliOutput): GeoRepSession[] {
  const sessions: GeoRepSession[] = [];
  for (const vol of asArr((out['geoRep'] as Node | undefined)?.['volume'])) {
    const primaryVolume = str(vol['name']);
    for (const s of asArr((vol['sessions'] as Node | undefined)?.['session'])) {
      const pairs = asArr(s['pair']).map((p): GeoRepPair => ({
        primaryNode: pick(p, 'primary_node', 'master_node'),
        primaryBrick: pick(p, 'primary_brick', 'master_brick'),
        secondaryUser: pick(p, 'secondary_user', 'slave_user') || 'root',
        secondary: pick(p, 'secondary', 'slave'),
        secondaryNode: na(pick(p, 'secondary_node', 'slave_node')),
        status: pick(p, 'status'),
        crawlStatus: na(pick(p, 'crawl_status')),
        entry: num(pick(p, 'entry')),
        data: num(pick(p, 'data')),
        meta: num(pick(p, 'meta')),
        failures: num(pick(p, 'failures')),
        lastSynced: time(pick(p, 'last_synced')),
        checkpointTime: time(pick(p, 'checkpoint_time')),
        checkpointCompleted: pick(p, 'checkpoint_completed') === 'Yes',
      }));
      sessions.push({ primaryVolume, secondary: pick(s, 'session_secondary', 'session_slave'), pairs });
    }
  }
  return sessions;
}

/** A worker's `node:brick`: the key of the `newest` and `since` maps. */
export function pairKey(p: Pick<GeoRepPair, 'primaryNode' | 'primaryBrick'>): string {
  return `${p.primaryNode}:${p.primaryBrick}`;
}

/**
 * The worker's brick holds a changelog (rolled over at `rolled`, epoch
 * seconds) that the worker has not synced: gsyncd marks a changelog
 * rolled at T synced by setting stime (last synced) to T - 1.
 */
export function behindChangelog(p: GeoRepPair, rolled: number | null | undefined): boolean {
  if (rolled === null || rolled === undefined) return false;
  const synced = p.lastSynced ? Date.parse(localToIso(p.lastSynced) ?? '') / 1000 : 0;
  return rolled - 1 > synced;
}

/**
 * Pure: one line for the console. `now` is the primary nodes' local time
 * in the same "YYYY-MM-DDTHH:MM:SS" form (gsyncd reports local times).
 * `newest`: the newest changelog of the bricks this appliance can read
 * (newestChangelogOnDisk, by `node:brick`). gsyncd's counts stay 0 while a
 * worker cannot reach the secondary (measured: "nothing pending" 12 s into
 * a partition with 8 changes waiting), so with them an active worker
 * behind its brick's changelog is not up to date.
 */
export function summarize(pairs: GeoRepPair[], now: string, newest?: ReadonlyMap<string, number | null>): GeoRepSummary {
  const has = (s: string) => pairs.some((p) => p.status === s);
  const state: GeoRepSummary['state'] = has('Faulty')
    ? 'faulty'
    : has('Active')
      ? 'active'
      : has('Initializing...')
        ? 'initializing'
        : has('Paused')
          ? 'paused'
          : has('Created')
            ? 'created'
            : pairs.length > 0 && pairs.every((p) => p.status === 'Offline')
              ? 'offline'
              : 'stopped';
  const synced = pairs.filter((p) => p.status === 'Active' && p.lastSynced).map((p) => p.lastSynced!).sort();
  const lastSynced = synced[0] ?? null;
  const lagSeconds = lastSynced ? Math.max(0, Math.round((Date.parse(`${now}Z`) - Date.parse(`${lastSynced}Z`)) / 1000)) : null;
  const sum = (f: (p: GeoRepPair) => number | null) => pairs.reduce((n, p) => n + (f(p) ?? 0), 0);
  const pending = sum((p) => p.entry) + sum((p) => p.data) + sum((p) => p.meta);
  const failures = sum((p) => p.failures);
  const active = pairs.filter((p) => p.status === 'Active');
  const upToDate =
    state === 'active' &&
    pending === 0 &&
    failures === 0 &&
    active.every((p) => p.crawlStatus === 'Changelog Crawl' && !behindChangelog(p, newest?.get(pairKey(p))));
  const cpTime = active.map((p) => p.checkpointTime).find((x) => x !== null) ?? null;
  const checkpoint = cpTime ? { time: cpTime, completed: active.every((p) => p.checkpointCompleted) } : null;
  return { state, lastSynced, lagSeconds, pending, failures, upToDate, checkpoint };
}

const VOL_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
function checkVol(name: string): void {
  if (!VOL_RE.test(name)) throw new GlusterError('INVALID_ARGUMENT', `volume name ${JSON.stringify(name)}: use letters, digits, _ and -`);
}

/**
 * Why every session is configured with `secondary-access-mount true`.
 *
 * gsyncd's secondary mounts the secondary volume (glusterfs FUSE,
 * `--aux-gfid-mount`) on /tmp/gsyncd-aux-mount-XXXX, chdir()s into it and,
 * by default, lazily unmounts it: the mount lives on only as that process's
 * cwd. Entries (mkdir, create, rename…) go over gsyncd's RPC and land
 * fine. File data goes by `rsync … . HOST:/proc/PID/cwd` (PID: that
 * secondary gsyncd), which relied on the kernel following the magic link.
 * rsync 3.4+ (Debian bookworm-security ships 3.5.0) resolves the
 * destination one component at a time with O_NOFOLLOW and, meeting the
 * `cwd` symlink, re-resolves its *text*; a detached mount reads as "/".
 * So the receiver works in the secondary's root filesystem: with
 * `--existing` it finds no `.gfid` there, skips every file and exits 0
 * (strace: `newfstatat(0, ".gfid", …) = -1 ENOENT` after `openat(…"/"…)`).
 * The replicated files stay empty. Keeping the aux mount attached makes the
 * link's text the real mount point, and rsync lands in the volume. The
 * mount is removed by gsyncd when its secondary process exits.
 */
export const SECONDARY_ACCESS_MOUNT = 'secondary-access-mount';

export interface GeoRepTarget {
  primary: string;
  secondaryHost: string;
  secondaryVolume: string;
}

/** Throws INVALID_ARGUMENT unless every part of `t` is a plain name (before any command runs). */
export function checkTarget(t: GeoRepTarget): void {
  checkVol(t.primary);
  checkVol(t.secondaryVolume);
  checkHost(t.secondaryHost);
}

export class GlusterGeoRep {
  constructor(private readonly cli: GlusterCli) {}

  private args({ primary, secondaryHost, secondaryVolume }: GeoRepTarget): string[] {
    checkVol(primary);
    checkVol(secondaryVolume);
    checkHost(secondaryHost);
    return ['volume', 'geo-replication', primary, `${secondaryHost}::${secondaryVolume}`];
  }

  /** Generates the common secret pem keys of the primary cluster (once per cluster). */
  async gsecCreate(): Promise<void> {
    // `system:: execute` answers in plain text even with --xml; success is
    // "Common secret pub file present at …" (exit 0).
    try {
      await this.cli.run(['system::', 'execute', 'gsec_create']);
    } catch (err) {
      if (err instanceof GlusterError && err.code === 'GLUSTER_BAD_OUTPUT' && /Common secret pub file present/.test(err.message)) return;
      throw err;
    }
  }

  async create(t: GeoRepTarget, opts: { sshPort?: number; force?: boolean } = {}): Promise<void> {
    const a = [...this.args(t), 'create'];
    if (opts.sshPort !== undefined) {
      if (!Number.isInteger(opts.sshPort) || opts.sshPort < 1 || opts.sshPort > 65535) throw new GlusterError('INVALID_ARGUMENT', `ssh port ${opts.sshPort}`);
      a.push('ssh-port', String(opts.sshPort));
    }
    a.push('push-pem');
    if (opts.force) a.push('force');
    await this.cli.run(a);
    // glusterd 10.3 uses ssh-port only for push-pem: the session's monitor
    // still ssh'es to port 22 ("connect to host … port 22: Connection
    // refused" in gsyncd.log, measured in the lab) until it is configured.
    if (opts.sshPort !== undefined) await this.cli.run([...this.args(t), 'config', 'ssh-port', String(opts.sshPort)]);
    // Without this no file data ever reaches the secondary, although gsyncd
    // logs "DATA" batches with rsync exit 0 (measured in the lab, root
    // cause traced, see SECONDARY_ACCESS_MOUNT).
    await this.cli.run([...this.args(t), 'config', SECONDARY_ACCESS_MOUNT, 'true']);
  }

  async start(t: GeoRepTarget, opts: { force?: boolean } = {}): Promise<void> {
    await this.cli.run([...this.args(t), 'start', ...(opts.force ? ['force'] : [])]);
  }

  async stop(t: GeoRepTarget, opts: { force?: boolean } = {}): Promise<void> {
    await this.cli.run([...this.args(t), 'stop', ...(opts.force ? ['force'] : [])]);
  }

  async pause(t: GeoRepTarget): Promise<void> {
    await this.cli.run([...this.args(t), 'pause']);
  }

  async resume(t: GeoRepTarget): Promise<void> {
    await this.cli.run([...this.args(t), 'resume']);
  }

  async delete(t: GeoRepTarget): Promise<void> {
    await this.cli.run([...this.args(t), 'delete']);
  }

  /**
   * Sets a checkpoint at the primary's current time; status reports it
   * completed once every change up to then has synced. It completes only
   * after a change newer than the checkpoint syncs: on an idle volume touch
   * the volume's root after setting it.
   */
  async checkpoint(t: GeoRepTarget): Promise<void> {
    await this.cli.run([...this.args(t), 'config', 'checkpoint', 'now']);
  }

  /** Sets a session option (e.g. `checkpoint now`, `sync-jobs 3`). */
  async config(t: GeoRepTarget, key: string, value: string): Promise<void> {
    if (!/^[a-z][a-z0-9_-]*$/.test(key)) throw new GlusterError('INVALID_ARGUMENT', `geo-replication option ${JSON.stringify(key)}`);
    await this.cli.run([...this.args(t), 'config', key, value]);
  }

  /** Every session of `primary` (or of every volume), one pair per primary brick. */
  async status(primary?: string): Promise<GeoRepSession[]> {
    if (primary !== undefined) checkVol(primary);
    try {
      return parseGeoRepStatus(await this.cli.run(['volume', 'geo-replication', ...(primary ? [primary] : []), 'status']));
    } catch (err) {
      // glusterd 10.3 with --xml answers a status without any session (of
      // the volume, or at all) with the bare text "geo-replication command
      // failed" and exit 1 (measured in the lab): that is an empty list.
      if (err instanceof GlusterError && err.code === 'GLUSTER_FAILED' && /: geo-replication command failed$/.test(err.message)) return [];
      throw err;
    }
  }
}

/** One primary brick's worker, as the API and console show it. */
export interface ReplicationWorker {
  node: string;
  brick: string;
  status: GeoRepStatus;
  crawlStatus: string | null;
  /** ISO 8601 with zone, or null before the first sync. */
  lastSynced: string | null;
  pending: number;
  failures: number;
}

/** A geo-replication session of a local volume, summarized for the API. */
export interface ReplicationSession {
  volume: string;
  remoteHost: string;
  remoteVolume: string;
  state: GeoRepSummary['state'];
  lastSynced: string | null;
  lagSeconds: number | null;
  upToDate: boolean;
  pending: number;
  failures: number;
  checkpoint: { time: string; completed: boolean } | null;
  workers: ReplicationWorker[];
}

/** "ssh://host::vol", "root@host::vol" or "host::vol" → host and volume. */
export function parseSecondary(s: string): { host: string; volume: string } | null {
  const m = /^(?:ssh:\/\/)?(?:[^@/]+@)?([^:/@]+)::([A-Za-z0-9_-]+)$/.exec(s.trim());
  return m ? { host: m[1]!, volume: m[2]! } : null;
}

/**
 * gsyncd prints local wall-clock times without a zone; cairnd runs on a
 * node of the primary cluster, so its local zone is theirs.
 */
function localToIso(s: string | null): string | null {
  if (!s) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(s);
  if (!m) return null;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return new Date(y, mo - 1, d, h, mi, se).toISOString();
}

function localNow(now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}T${p(now.getHours())}:${p(now.getMinutes())}:${p(now.getSeconds())}`;
}

/**
 * Geo-replication as the API offers it: sessions of local volumes to
 * volumes of remote appliances, summarized; set up in one step (common
 * pem keys, create with push-pem, start), removed in one (stop, delete).
 */
export class GeoRepReplication {
  constructor(
    private readonly geo: Pick<GlusterGeoRep, 'status' | 'gsecCreate' | 'create' | 'start' | 'stop' | 'pause' | 'resume' | 'delete' | 'checkpoint'>,
    private readonly clock: () => Date = () => new Date(),
    /** Newest changelog of a brick of this appliance (others: null), for `upToDate`. */
    private readonly newest: NewestChangelog = newestChangelogOnDisk,
  ) {}

  async list(): Promise<ReplicationSession[]> {
    const sessions = await this.geo.status();
    const now = localNow(this.clock());
    const out: ReplicationSession[] = [];
    for (const s of sessions) {
      const sec = parseSecondary(s.pairs[0]?.secondary ?? '') ?? parseSecondary(s.secondary.replace(/^[0-9a-f-]{36}:/, '').replace(/:[0-9a-f-]{36}$/, ''));
      if (!sec) continue;
      const newest = await newestChangelogs(s.pairs, (brick) => this.newest(brick).catch(() => null));
      const sum = summarize(s.pairs, now, newest);
      out.push({
        volume: s.primaryVolume,
        remoteHost: sec.host,
        remoteVolume: sec.volume,
        state: sum.state,
        lastSynced: localToIso(sum.lastSynced),
        lagSeconds: sum.lagSeconds,
        upToDate: sum.upToDate,
        pending: sum.pending,
        failures: sum.failures,
        checkpoint: sum.checkpoint ? { time: localToIso(sum.checkpoint.time) ?? sum.checkpoint.time, completed: sum.checkpoint.completed } : null,
        workers: s.pairs.map((p) => ({
          node: p.primaryNode,
          brick: p.primaryBrick,
          status: p.status,
          crawlStatus: p.crawlStatus,
          lastSynced: localToIso(p.lastSynced),
          pending: (p.entry ?? 0) + (p.data ?? 0) + (p.meta ?? 0),
          failures: p.failures ?? 0,
        })),
      });
    }
    return out;
  }

  async get(t: GeoRepTarget): Promise<ReplicationSession | undefined> {
    return (await this.list()).find((s) => s.volume === t.primary && s.remoteHost === t.secondaryHost && s.remoteVolume === t.secondaryVolume);
  }

  /**
   * Creates and starts a session. Root on this appliance must already
   * reach root on `secondaryHost` by ssh key (docs/geo-replication.md);
   * push-pem then installs gsyncd's restricted keys there.
   */
  async setUp(t: GeoRepTarget, opts: { sshPort?: number } = {}): Promise<void> {
    await this.geo.gsecCreate();
    await this.geo.create(t, opts);
    await this.geo.start(t);
  }

  async pause(t: GeoRepTarget): Promise<void> {
    await this.geo.pause(t);
  }

  async resume(t: GeoRepTarget): Promise<void> {
    await this.geo.resume(t);
  }

  async checkpoint(t: GeoRepTarget): Promise<void> {
    await this.geo.checkpoint(t);
  }

  /**
   * Stops (force) and starts the session: new workers replay the bricks'
   * changelogs from the last synced time. The remedy for a worker that is
   * Active in Changelog Crawl but no longer receives changelogs (seen in
   * the lab right after start; docs/geo-replication.md).
   */
  async restart(t: GeoRepTarget): Promise<void> {
    await this.geo.stop(t, { force: true });
    await this.geo.start(t);
  }

  /** Stops (force: also when the remote is unreachable) and deletes the session. */
  async remove(t: GeoRepTarget): Promise<void> {
    await this.geo.stop(t, { force: true }).catch((err: unknown) => {
      // Already stopped (or created, never started): delete says the rest.
      if (!(err instanceof GlusterError && err.code === 'GLUSTER_FAILED')) throw err;
    });
    await this.geo.delete(t);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const execFileP = promisify(execFile);

/**
 * How long a session may look idle (Active, nothing pending) without
 * reaching a checkpoint before it is restarted once: the worker stall seen
 * in the lab (docs/geo-replication.md, "A worker that stays behind").
 */
export const STALL_RESTART_MS = 60_000;

export interface WaitOptions {
  timeoutMs?: number;
  pollMs?: number;
  now?: () => Date;
}

/** Makes a change on a volume (e.g. touches its root): a checkpoint completes only when a change newer than it syncs. */
export type TouchVolume = (volume: string) => Promise<void>;

/**
 * Touches the root of `volume` through a short-lived FUSE mount of the
 * local glusterd's volume, so a checkpoint on an idle volume can complete.
 */
export async function touchVolumeRoot(volume: string, server = 'localhost'): Promise<void> {
  checkVol(volume);
  const dir = await mkdtemp(join(tmpdir(), 'cairn-georep-touch-'));
  try {
    await execFileP('mount', ['-t', 'glusterfs', `${server}:/${volume}`, dir], { timeout: 60_000 });
    try {
      const now = new Date();
      await utimes(dir, now, now);
    } finally {
      await execFileP('umount', [dir], { timeout: 60_000 }).catch(() => execFileP('umount', ['-l', dir]));
    }
  } finally {
    await rmdir(dir).catch(() => undefined);
  }
}

/** What a deletion pass did: the paths it removed (relative to the volume's root) and where they were kept. */
export interface DeletionPass {
  deleted: string[];
  keptIn: string;
}

/** Removes from the primary volume what the secondary no longer has (mirrorDeletions on an appliance). */
export type MirrorDeletions = (t: GeoRepTarget, keepDir: string) => Promise<DeletionPass>;

/** Pure: the paths of rsync's `--itemize-changes` "*deleting" lines, directories with their trailing slash. */
export function parseDeletions(out: string): string[] {
  return out
    .split('\n')
    .map((l) => /^\*deleting +(.+)$/.exec(l)?.[1])
    .filter((x): x is string => x !== undefined);
}

/**
 * The failback's deletion pass, on the old primary site once the reverse
 * session is finished (the promoted copy is quiesced and read-only again,
 * so its tree is final) and before the original session starts again.
 *
 * Why it is needed: the reverse session's first crawl is a hybrid (xsync)
 * crawl, a walk of the promoted volume that finds what exists, never what
 * was removed; the promoted volume's changelog does have the unlinks, but
 * a new session has no sync time to replay it from. So a file deleted on
 * the promoted site during the failover would stay on the old primary and,
 * once the original session runs again, be served there.
 *
 * How: the secondary volume mounted read-only (FUSE, from its own glusterd:
 * this site must reach it like a Gluster client — glusterd's port 24007 and
 * the brick ports), the local primary volume mounted read-write, and
 * `rsync -r --delete --existing --ignore-existing` from the first onto the
 * second. --existing with --ignore-existing transfers nothing, creates
 * nothing and changes no existing file (their data and GFIDs, which
 * geo-replication needs to match, stay as the reverse session left them):
 * the pass only deletes names the secondary does not have.
 *
 * Why it is safe: every deleted path is first moved (rsync --backup
 * --backup-dir) to `keepDir`, outside the volume, so nothing is lost —
 * after an unplanned failover that also keeps the writes the old primary
 * took but never shipped (they are not on the promoted copy either). A
 * secondary root that reads as empty while the primary's is not is refused
 * (a mount of the wrong volume, or one that failed quietly, would
 * otherwise move everything aside). Any rsync error fails the step before
 * the original session starts; running it again is harmless.
 */
export async function mirrorDeletions(t: GeoRepTarget, keepDir: string, localServer = 'localhost'): Promise<DeletionPass> {
  checkTarget(t);
  if (!keepDir.startsWith('/')) throw new GlusterError('INVALID_ARGUMENT', `keep directory ${JSON.stringify(keepDir)} must be an absolute path`);
  const base = await mkdtemp(join(tmpdir(), 'cairn-georep-failback-'));
  const src = join(base, 'secondary');
  const dst = join(base, 'primary');
  const mounted: string[] = [];
  try {
    await mkdir(src);
    await mkdir(dst);
    await execFileP('mount', ['-t', 'glusterfs', '-o', 'ro', `${t.secondaryHost}:/${t.secondaryVolume}`, src], { timeout: 60_000 });
    mounted.push(src);
    await execFileP('mount', ['-t', 'glusterfs', `${localServer}:/${t.primary}`, dst], { timeout: 60_000 });
    mounted.push(dst);
    const visible = (names: string[]) => names.filter((n) => n !== '.trashcan');
    if (visible(await readdir(src)).length === 0 && visible(await readdir(dst)).length > 0) {
      throw new GlusterError('GLUSTER_FAILED', `${t.secondaryHost}::${t.secondaryVolume} reads as empty but ${t.primary} is not: refusing to remove everything (check the volume and that it is mounted)`);
    }
    await mkdir(keepDir, { recursive: true });
    const args = ['-r', '--delete', '--existing', '--ignore-existing', '--itemize-changes', '--backup', `--backup-dir=${keepDir}`, '--exclude=/.trashcan/', `${src}/`, `${dst}/`];
    let out: string;
    try {
      out = (await execFileP('rsync', args, { timeout: 3_600_000, maxBuffer: 256 << 20 })).stdout;
    } catch (e) {
      const err = e as { stderr?: string; code?: number; message: string };
      throw new GlusterError('GLUSTER_FAILED', `the deletion pass failed (rsync ${err.code ?? ''}): ${(err.stderr ?? err.message).trim().split('\n').slice(-3).join(' | ')}`);
    }
    return { deleted: parseDeletions(out), keptIn: keepDir };
  } finally {
    for (const m of mounted.reverse()) await execFileP('umount', [m], { timeout: 60_000 }).catch(() => execFileP('umount', ['-l', m]).catch(() => undefined));
    await rmdir(src).catch(() => undefined);
    await rmdir(dst).catch(() => undefined);
    await rmdir(base).catch(() => undefined);
  }
}

/** How long a session may look missing, stopped, created or faulty while waiting for it before that is the answer. */
const TRANSIENT_MS = 60_000;

/**
 * Failover and failback of a geo-replicated volume, one site's part per
 * method (docs/geo-replication.md has the runbook, the cairn-georep script
 * the commands):
 *
 *   planned failover   primary site: drain (wait caught up, stop)
 *                      secondary site: promote
 *   unplanned          secondary site: promote; when the old primary comes
 *                      back: stop its session before anything else
 *   failback           promoted site: reverse (session back to the old
 *                      primary, force: that volume is not empty), clients
 *                      off, finishFailback (wait caught up, stop, delete)
 *                      old primary site: resume (deletion pass from the
 *                      copy, then the original session)
 */
export class GeoRepFailover {
  constructor(
    private readonly geo: Pick<GlusterGeoRep, 'status' | 'gsecCreate' | 'create' | 'start' | 'stop' | 'delete' | 'checkpoint'>,
    private readonly volumes: { set(name: string, key: string, value: string): Promise<void> },
    /** Makes a change on the primary volume after a checkpoint (touchVolumeRoot on an appliance). */
    private readonly touch: TouchVolume = touchVolumeRoot,
    /** The failback's deletion pass (mirrorDeletions on an appliance). */
    private readonly mirror: MirrorDeletions = (t, keep) => mirrorDeletions(t, keep),
  ) {}

  async summary(t: GeoRepTarget, now: Date): Promise<GeoRepSummary | undefined> {
    const s = (await this.geo.status(t.primary)).find((x) => {
      const sec = parseSecondary(x.pairs[0]?.secondary ?? '');
      return sec?.host === t.secondaryHost && sec.volume === t.secondaryVolume;
    });
    return s ? summarize(s.pairs, localNow(now)) : undefined;
  }

  /**
   * Waits until every change made before the call reached the secondary:
   * sets a checkpoint, touches the primary's root (a checkpoint completes
   * only when a newer change syncs) and waits for the checkpoint. "Nothing
   * pending" alone is not enough: a stalled worker shows exactly that. A
   * session that looks idle for STALL_RESTART_MS without reaching the
   * checkpoint is restarted once (the new workers replay the changelogs).
   */
  async waitCaughtUp(t: GeoRepTarget, opts: WaitOptions & { stallMs?: number } = {}): Promise<GeoRepSummary & { restarted: boolean }> {
    checkTarget(t);
    const clock = opts.now ?? (() => new Date());
    const begun = clock().getTime();
    const deadline = begun + (opts.timeoutMs ?? 600_000);
    await this.geo.checkpoint(t);
    await this.touch(t.primary);
    let restarted = false;
    // Missing, stopped, created or faulty for a moment is what a restart
    // looks like (cairnd's GeoRepWatchdog may restart the session while an
    // admin waits here): only a state that lasts TRANSIENT_MS is an answer.
    let badSince: number | null = null;
    for (;;) {
      const now = clock();
      const s = await this.summary(t, now);
      const bad = !s
        ? `no geo-replication session ${t.primary} → ${t.secondaryHost}::${t.secondaryVolume}`
        : s.state === 'faulty' || s.state === 'stopped' || s.state === 'paused' || s.state === 'created'
          ? `the session is ${s.state}: it cannot catch up (start or resume it first)`
          : null;
      if (bad) {
        badSince ??= now.getTime();
        if (s?.state === 'paused' || now.getTime() - badSince >= TRANSIENT_MS || now.getTime() > deadline) throw new GlusterError('GLUSTER_FAILED', bad);
        await sleep(opts.pollMs ?? 3000);
        continue;
      }
      badSince = null;
      if (!s) continue;
      if (s.checkpoint?.completed) return { ...s, restarted };
      if (!restarted && s.upToDate && now.getTime() - begun > (opts.stallMs ?? STALL_RESTART_MS)) {
        await this.geo.stop(t, { force: true });
        await this.geo.start(t);
        await this.touch(t.primary);
        restarted = true;
      }
      if (now.getTime() > deadline) throw new GlusterError('GLUSTER_TIMEOUT', `not caught up: ${JSON.stringify(s)}`);
      await sleep(opts.pollMs ?? 3000);
    }
  }

  /** Planned failover, on the primary site: clients already off; wait until caught up, then stop the session. */
  async drain(t: GeoRepTarget, opts: WaitOptions = {}): Promise<GeoRepSummary & { restarted: boolean }> {
    checkTarget(t);
    const s = await this.waitCaughtUp(t, opts);
    await this.geo.stop(t);
    return s;
  }

  /**
   * On the secondary site: the copy becomes the primary. glusterd made it
   * read-only when the session was created (`features.read-only on`; only
   * gsyncd's own mount may write), so that goes; its changelog records
   * changes from here on, so a reverse session can start later from where
   * the copy was. Serving it (shares on its pool) is Cairn's usual
   * configuration.
   */
  async promote(volume: string): Promise<void> {
    checkVol(volume);
    await this.volumes.set(volume, 'features.read-only', 'off');
    await this.volumes.set(volume, 'geo-replication.indexing', 'on');
    await this.volumes.set(volume, 'changelog.changelog', 'on');
  }

  /** On the promoted site: a session back to the old primary (whose volume is not empty: force), started. */
  async reverse(t: GeoRepTarget, opts: { sshPort?: number } = {}): Promise<void> {
    checkTarget(t);
    await this.geo.gsecCreate();
    await this.geo.create(t, { ...opts, force: true });
    await this.geo.start(t);
  }

  /**
   * On the promoted site, clients off: wait until the old primary has
   * everything, stop and delete the reverse session, and make this volume
   * a read-only copy again (as glusterd keeps a secondary).
   */
  async finishFailback(t: GeoRepTarget, opts: WaitOptions = {}): Promise<GeoRepSummary & { restarted: boolean }> {
    checkTarget(t);
    const s = await this.waitCaughtUp(t, opts);
    await this.geo.stop(t);
    await this.geo.delete(t);
    await this.volumes.set(t.primary, 'features.read-only', 'on');
    return s;
  }

  /**
   * On the old primary site, after finishFailback on the promoted one: its
   * volume was the reverse session's secondary (read-only): writable again;
   * then the deletion pass (mirrorDeletions: what was deleted on the
   * promoted copy during the failover goes here too, kept aside in
   * `keepDir`); then the original session starts again (force: it was
   * stopped or faulty). Without `keepDir` the pass is skipped (a failover
   * that took no writes on the copy).
   */
  async resume(t: GeoRepTarget, opts: { keepDir?: string } = {}): Promise<DeletionPass | null> {
    checkTarget(t);
    await this.volumes.set(t.primary, 'features.read-only', 'off');
    const pass = opts.keepDir === undefined ? null : await this.mirror(t, opts.keepDir);
    await this.geo.start(t, { force: true });
    return pass;
  }

  /** Stops a session, also when the other side is unreachable. */
  async stop(t: GeoRepTarget): Promise<void> {
    checkTarget(t);
    await this.geo.stop(t, { force: true });
  }
}

/**
 * Bounds of GeoRepWatchdog, ms. A worker Initializing... or Faulty longer
 * than `stuckMs` is stuck (gsyncd's monitor retries a Faulty worker every
 * 60 s by itself; past a few tries an admin restarts the session). A
 * worker Active in Changelog Crawl with nothing pending while its brick
 * holds a changelog rolled over more than `stallMs` ago that it has not
 * synced has stalled (docs/geo-replication.md, "A worker that stays
 * behind"). After a restart the session is left alone for `backoffMs`
 * (a restarted worker loses the same race now and then: it may need
 * another restart, but never a storm of them).
 */
export interface WatchdogBounds {
  stuckMs: number;
  stallMs: number;
  backoffMs: number;
  /**
   * A worker still Created this long after it was first seen is a start
   * that did not take (Cairn starts every session it creates; a start that
   * takes leaves Created within seconds). Default: stuckMs, at most 30 s.
   */
  createdMs?: number;
}

export const WATCHDOG_BOUNDS: WatchdogBounds = { stuckMs: 180_000, stallMs: 60_000, backoffMs: 120_000, createdMs: 30_000 };

/**
 * Rollover time (epoch seconds) of the newest changelog of a brick, or
 * null when it has none (no change since changelogs were enabled) or the
 * brick is not on this appliance. The changelog translator rolls
 * BRICK/.glusterfs/changelogs/CHANGELOG over into
 * changelogs/YYYY/MM/DD/CHANGELOG.<rollover epoch> (Gluster 10; older
 * releases left them in changelogs/) and drops the ones that recorded
 * nothing, so the newest file dates the last change.
 */
export type NewestChangelog = (brick: string) => Promise<number | null>;

export const newestChangelogOnDisk: NewestChangelog = async (brick) => {
  const list = (dir: string) => readdir(dir).catch(() => [] as string[]);
  const newestIn = (names: string[]) => {
    let newest: number | null = null;
    for (const n of names) {
      const m = /^CHANGELOG\.(\d+)$/.exec(n);
      if (m && (newest === null || Number(m[1]) > newest)) newest = Number(m[1]);
    }
    return newest;
  };
  // The newest numeric subdirectory at each level: year, month, day.
  const latest = async (dir: string) => (await list(dir)).filter((n) => /^\d+$/.test(n)).sort((x, y) => Number(y) - Number(x))[0];
  const root = join(brick, '.glusterfs', 'changelogs');
  let dir = root;
  for (let level = 0; level < 3; level++) {
    const next = await latest(dir);
    if (next === undefined) break;
    dir = join(dir, next);
  }
  return newestIn(await list(dir)) ?? newestIn(await list(root));
};

/**
 * The newest changelog of the brick of each worker Active in Changelog
 * Crawl, by pairKey: the only ones `summarize` and `stallReason` weigh.
 */
export async function newestChangelogs(pairs: GeoRepPair[], newestOf: NewestChangelog = newestChangelogOnDisk): Promise<Map<string, number | null>> {
  const newest = new Map<string, number | null>();
  for (const p of pairs) if (p.status === 'Active' && p.crawlStatus === 'Changelog Crawl') newest.set(pairKey(p), await newestOf(p.primaryBrick));
  return newest;
}

/** Why a session needs a restart, or null. Pure: `now` and the changelog times are epoch ms / seconds. */
export function stallReason(
  pairs: GeoRepPair[],
  since: ReadonlyMap<string, { status: string; at: number }>,
  newest: ReadonlyMap<string, number | null>,
  now: number,
  bounds: WatchdogBounds,
): string | null {
  for (const p of pairs) {
    const key = pairKey(p);
    const seen = since.get(key);
    const lasted = seen && seen.status === p.status ? now - seen.at : 0;
    // Created: never started, or a start that did not take (seen in the
    // lab on a loaded machine: `start` succeeded, the session stayed
    // Created). Cairn creates and starts sessions together (API, cairn-georep).
    const bound = p.status === 'Created' ? (bounds.createdMs ?? Math.min(bounds.stuckMs, 30_000)) : bounds.stuckMs;
    if ((p.status === 'Initializing...' || p.status === 'Faulty' || p.status === 'Created') && lasted > bound) {
      return `worker ${key} ${p.status} for ${Math.round(lasted / 1000)} s`;
    }
    if (p.status !== 'Active' || p.crawlStatus !== 'Changelog Crawl') continue;
    if ((p.entry ?? 0) + (p.data ?? 0) + (p.meta ?? 0) > 0) continue;
    const rolled = newest.get(key);
    if (rolled === null || rolled === undefined) continue;
    if (behindChangelog(p, rolled) && now - rolled * 1000 > bounds.stallMs) {
      return `worker ${key} Active in Changelog Crawl, nothing pending, but its brick's changelog of ${new Date(rolled * 1000).toISOString()} is not synced (last synced ${p.lastSynced ?? 'never'}) after ${Math.round((now - rolled * 1000) / 1000)} s`;
    }
  }
  return null;
}

export interface WatchdogLog {
  warn(o: object, msg: string): void;
}

/**
 * Restarts a geo-replication session whose worker is stuck or stalled, as
 * an admin would (stop force, start: the new worker replays the brick's
 * changelogs from the last synced time, so nothing is lost), logged, at
 * most once per `backoffMs` per session. Checks the workers of this
 * appliance's bricks (`isLocal`), whose changelogs it can read.
 *
 *   const w = new GeoRepWatchdog(geo, { isLocal: (node) => node === host, log });
 *   w.start(30_000);  …  w.stop();
 *
 * The stall, traced in the lab (docs/geo-replication.md, "A worker that
 * stays behind"): a worker registers with its brick's changelog translator
 * (libgfchangelog probes the brick; the brick connects back to the
 * worker's socket). In Gluster 10.3's changelog-ev-handle.c the brick's
 * connector thread starts that connection and then moves the client to
 * its wait queue, while the connect notification, on an epoll thread,
 * moves it to the active list that the event dispatchers walk. When the
 * notification runs first — a local socket connects at once, and on a
 * loaded machine the connector thread is preempted — the client ends on
 * the wait queue: connected, its event selected, but never sent a
 * changelog. The worker waits for ever in Changelog Crawl. A new worker
 * (stop, start) registers again and, almost always, wins the race; it
 * replays the changelogs from the last synced time. Cairn cannot patch
 * Gluster, so it watches for the symptom.
 */
export class GeoRepWatchdog {
  private readonly since = new Map<string, { status: string; at: number }>();
  private readonly restartedAt = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  /** Restarts done, newest last (for the API and tests). */
  readonly restarts: Array<{ at: string; session: string; reason: string }> = [];

  constructor(
    private readonly geo: Pick<GlusterGeoRep, 'status' | 'stop' | 'start'>,
    private readonly opts: {
      isLocal: (node: string) => boolean;
      log: WatchdogLog;
      newestChangelog?: NewestChangelog;
      bounds?: Partial<WatchdogBounds>;
      now?: () => number;
      /**
       * Whether there is anything to watch (a Gluster pool on this
       * appliance); the timed checks skip asking glusterd otherwise. An
       * appliance on its local directory pool may have no glusterd at all.
       */
      active?: () => boolean;
    },
  ) {}

  /** One pass over every session; returns the sessions restarted. */
  async check(): Promise<string[]> {
    const bounds = { ...WATCHDOG_BOUNDS, ...this.opts.bounds };
    const now = (this.opts.now ?? Date.now)();
    const newestOf = this.opts.newestChangelog ?? newestChangelogOnDisk;
    const done: string[] = [];
    for (const s of await this.geo.status()) {
      const sec = parseSecondary(s.pairs[0]?.secondary ?? '');
      if (!sec) continue;
      const name = `${s.primaryVolume} → ${sec.host}::${sec.volume}`;
      const local = s.pairs.filter((p) => this.opts.isLocal(p.primaryNode));
      for (const p of local) {
        const key = pairKey(p);
        const seen = this.since.get(key);
        if (!seen || seen.status !== p.status) this.since.set(key, { status: p.status, at: now });
      }
      const newest = await newestChangelogs(local, (brick) => newestOf(brick).catch(() => null));
      const reason = stallReason(local, this.since, newest, now, bounds);
      if (!reason || now - (this.restartedAt.get(name) ?? -Infinity) < bounds.backoffMs) continue;
      this.opts.log.warn({ session: name, reason }, 'geo-replication: restarting a stuck session (stop force, start)');
      const t = { primary: s.primaryVolume, secondaryHost: sec.host, secondaryVolume: sec.volume };
      // A session that never started may refuse to stop: start it all the same.
      await this.geo.stop(t, { force: true }).catch((err: unknown) => this.opts.log.warn({ session: name, err: String(err) }, 'geo-replication: stop before the restart failed'));
      await this.geo.start(t);
      this.restartedAt.set(name, now);
      for (const p of local) this.since.delete(pairKey(p));
      this.restarts.push({ at: new Date(now).toISOString(), session: name, reason });
      done.push(name);
    }
    return done;
  }

  /**
   * Checks every `everyMs` until stop(). A failing check (no glusterd, say)
   * is retried next time and logged when its message changes, not every time.
   */
  start(everyMs = 30_000): void {
    if (this.timer) return;
    let lastError = '';
    const tick = () => {
      const active = this.opts.active?.() ?? true;
      this.running = (active ? this.check() : Promise.resolve([])).then(
        () => void (lastError = ''),
        (err: unknown) => {
          const m = (err as Error).message;
          if (m !== lastError) this.opts.log.warn({ err }, 'geo-replication watchdog: check failed (retried every interval, logged again when the error changes)');
          lastError = m;
        },
      );
      void this.running.finally(() => {
        if (this.timer) this.timer = setTimeout(tick, everyMs).unref();
      });
    };
    this.timer = setTimeout(tick, everyMs).unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}
