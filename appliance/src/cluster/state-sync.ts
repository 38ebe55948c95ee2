/**
 * Keeps this appliance's desired state and the cluster's shared document
 * (state-file.ts, on the `cairn-state` volume) the same.
 *
 * Reading (every `pollMs`, default 1 s): once this appliance belongs to a
 * cluster and the state volume exists, it is FUSE-mounted at `mountDir`;
 * then each poll reads the head's revision. A revision not yet applied
 * here (written by any appliance) is merged into the local document
 * (shared-state.ts: the cluster's part replaced, the local part kept) as
 * an ordinary local revision by `cluster:<origin>`, which triggers the
 * reconciler: every appliance serves the same exports within a poll and a
 * reconcile pass. A document newer than the local one always wins — when
 * an appliance joins, its own cluster-wide objects (users, gluster pools,
 * their shares) are replaced by the cluster's (they stay in its local
 * revision history).
 *
 * Writing: the store calls `guard` inside every commit. When the change
 * leaves the cluster-wide part as the cluster has it (settings, local
 * pools and shares), nothing more happens. Otherwise the new shared part
 * is written to the volume first (under the volume lock, built on the
 * revision applied here), and only then committed locally; when that
 * fails the change is refused and the local document stays as it was:
 *   - NO_QUORUM (503 cluster_no_quorum): Gluster refused the write or the
 *     lock (client quorum: this side of a partition has a minority of the
 *     state volume's bricks);
 *   - STATE_CONFLICT (409 conflict): another appliance wrote meanwhile;
 *     the next poll brings its change, then the client retries;
 *   - STATE_UNAVAILABLE (503): in a cluster whose state volume is not
 *     mounted or not read yet.
 * An appliance alone (no cluster) changes its local document only.
 *
 * The seed: when the volume holds no document yet, only the appliance of
 * its first brick (the one that created it) writes its own cluster-wide
 * part as revision 1; the others wait for it and adopt it.
 *
 * No change is lost while the volume is being created (a join of the
 * second appliance): in a cluster whose state volume does not exist yet,
 * only the appliance that founded the cluster (`founder`, the one that
 * creates the volume and seeds it from its own document) commits
 * cluster-wide changes locally; any other member refuses them
 * (STATE_UNAVAILABLE) — it adopts the seed, which would drop them. The
 * guard decides on fresh answers (membership and the volume asked again,
 * not the poll's last ones). The seed itself waits for the commits the
 * store already queued (a no-op update is a barrier in its serial queue),
 * so a change whose guard said "alone" just before the volume appeared is
 * in the seeded document; later changes are refused until the seed is
 * applied, then written through the volume under its lock and revision
 * check like any other.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { writeFileAtomic } from '../state/atomic.js';
import type { MemberRecord } from './evacuate.js';
import type { State } from '../state/schema.js';
import type { StateStore } from '../state/store.js';
import { ClusterError } from './errors.js';
import { mergeState, sharedKey, sharedPartOf } from './shared-state.js';
import { SharedStateFile, type SharedHead } from './state-file.js';

/** How the sync reaches the state volume (the product: pool/gluster/cluster-ops.ts). */
export interface StateVolumeAccess {
  readonly volume: string;
  exists(): Promise<boolean>;
  /** The host of the volume's first brick: the appliance that seeds the document. */
  firstBrickHost(): Promise<string | undefined>;
  isMounted(dir: string): Promise<boolean>;
  mount(dir: string): Promise<void>;
  unmount(dir: string): Promise<void>;
}

export interface ClusterStateSyncOptions {
  store: StateStore;
  hostname: string;
  mountDir: string;
  access: StateVolumeAccess;
  /**
   * Whether this appliance belongs to a cluster (its cluster record exists
   * and its glusterd has peers). Asked every 3 s while not mounted, every
   * 10 s while mounted: false then means it was removed (detached).
   */
  clustered: () => Promise<boolean>;
  /**
   * Whether this appliance founded the cluster (created it, rather than
   * being invited): it creates the state volume and seeds it from its own
   * document, so it may change cluster-wide objects before the volume
   * exists. Default: yes (an appliance that cannot tell keeps the old
   * behaviour).
   */
  founder?: () => Promise<boolean>;
  log?: Logger;
  pollMs?: number;
  /** A poll running longer is reported as an error by status() (default 30 s). */
  stuckPollMs?: number;
  lockTimeoutMs?: number;
  /** Published in this appliance's member record (members/<hostname>.json on the volume, every 30 s). */
  record?: { stateBrick?: string; brickDir?: string };
}

export interface SharedStateStatus {
  volume: string;
  /** standalone: no cluster; waiting: cluster without (readable) state volume yet; synced: applied the newest revision. */
  phase: 'standalone' | 'waiting' | 'synced' | 'error';
  mounted: boolean;
  /** The cluster document's revision applied here. */
  revision: number | null;
  /** Who wrote it and where. */
  origin: string | null;
  at: string | null;
  lastCheckAt: string | null;
  error: string | null;
  /**
   * Whether this appliance could write the shared document last time it
   * tried: false after Gluster refused a write or its lock (minority side)
   * until a later lock probe (every 5 s) or write succeeds; null before any.
   */
  writable: boolean | null;
}

/** A poll running longer than this is reported (status phase 'error'); the ping timeout bounds most stalls to seconds. */
const STUCK_POLL_MS = 30_000;

export class ClusterStateSync {
  readonly file: SharedStateFile;
  private mounted = false;
  private volumeExists = false;
  private applied: { revision: number; key: string; origin: string; at: string } | undefined;
  private phase: SharedStateStatus['phase'] = 'standalone';
  private error: string | null = null;
  private lastCheckAt: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private tickStartedAt = 0;
  private lastVolumeCheck = 0;
  private writable: boolean | null = null;
  private lastWriteProbe = 0;
  private lastRecordAt = 0;
  private lastMemberCheck = 0;
  private stopped = false;

  constructor(private readonly opts: ClusterStateSyncOptions) {
    this.file = new SharedStateFile(opts.mountDir, { lockTimeoutMs: opts.lockTimeoutMs ?? 15_000 });
  }

  /** Installs the commit guard, runs a first check (bounded by `firstWaitMs`), then polls. */
  async start(firstWaitMs = 15_000): Promise<void> {
    this.opts.store.setCommitGuard((prev, next, meta) => this.guard(prev, next, meta));
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.check(), new Promise((r) => (t = setTimeout(r, firstWaitMs)))]);
    clearTimeout(t);
    this.schedule();
  }

  async stop(opts: { unmount?: boolean } = {}): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.opts.store.setCommitGuard(undefined);
    await this.ticking;
    if (opts.unmount && this.mounted) await this.opts.access.unmount(this.opts.mountDir);
  }

  status(): SharedStateStatus {
    // A poll stuck in the FUSE mount (file calls there cannot be cancelled) shows as an error, not as the last good phase.
    const stuckMs = this.ticking && this.tickStartedAt ? Date.now() - this.tickStartedAt : 0;
    if (stuckMs > (this.opts.stuckPollMs ?? STUCK_POLL_MS)) {
      return {
        volume: this.opts.access.volume,
        phase: 'error',
        mounted: this.mounted,
        revision: this.applied?.revision ?? null,
        origin: this.applied?.origin ?? null,
        at: this.applied?.at ?? null,
        lastCheckAt: this.lastCheckAt,
        error: `the state volume (${this.opts.access.volume}) has not answered a poll for ${Math.round(stuckMs / 1000)} s`,
        writable: this.writable,
      };
    }
    return {
      volume: this.opts.access.volume,
      phase: this.phase,
      mounted: this.mounted,
      revision: this.applied?.revision ?? null,
      origin: this.applied?.origin ?? null,
      at: this.applied?.at ?? null,
      lastCheckAt: this.lastCheckAt,
      error: this.error,
      writable: this.writable,
    };
  }

  /** One poll now (single flight: a poll stuck on an unreachable volume is not stacked). */
  check(): Promise<void> {
    if (!this.ticking) this.tickStartedAt = Date.now();
    this.ticking ??= this.tick().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.check().finally(() => this.schedule());
    }, this.opts.pollMs ?? 1000);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      if (!this.mounted) {
        // Membership and the volume cost gluster CLI calls: asked every 3 s at most while waiting.
        if (Date.now() - this.lastVolumeCheck < 3000) return;
        this.lastVolumeCheck = Date.now();
        if (!(await this.opts.clustered())) {
          this.phase = 'standalone';
          this.volumeExists = false;
          return;
        }
        this.volumeExists = await this.opts.access.exists();
        if (!this.volumeExists) {
          this.phase = 'waiting';
          return;
        }
        if (!(await this.opts.access.isMounted(this.opts.mountDir))) {
          await this.opts.access.mount(this.opts.mountDir);
          this.opts.log?.info({ volume: this.opts.access.volume, dir: this.opts.mountDir }, 'cluster: state volume mounted');
        }
        this.mounted = true;
        this.lastMemberCheck = Date.now();
      } else if (Date.now() - this.lastMemberCheck > 10_000) {
        this.lastMemberCheck = Date.now();
        if (!(await this.opts.clustered())) {
          await this.leave();
          return;
        }
      }
      const head = await this.file.read();
      this.lastCheckAt = new Date().toISOString();
      if (!head) {
        if ((await this.opts.access.firstBrickHost()) === this.opts.hostname) await this.seed();
        else this.phase = 'waiting';
        return;
      }
      if (head.revision !== this.applied?.revision) await this.adopt(head);
      if (Date.now() - this.lastRecordAt > 30_000) {
        this.lastRecordAt = Date.now();
        await this.publishRecord().catch((e: unknown) => this.opts.log?.warn({ err: e }, 'cluster: cannot publish the member record'));
      }
      if (this.writable === false && Date.now() - this.lastWriteProbe > 5000) {
        this.lastWriteProbe = Date.now();
        await this.file.withLock(async () => undefined).then(() => (this.writable = true), () => undefined);
      }
      this.phase = 'synced';
      this.setError(null);
    } catch (e) {
      this.phase = 'error';
      this.setError((e as Error).message);
    }
  }

  /**
   * This appliance was removed from the cluster (its glusterd has no peers
   * any more): it stops reading and writing the cluster's document and
   * keeps its last document as its own.
   */
  private async leave(): Promise<void> {
    await this.opts.access.unmount(this.opts.mountDir);
    this.mounted = false;
    this.volumeExists = false;
    this.applied = undefined;
    this.writable = null;
    this.phase = 'standalone';
    this.setError(null);
    this.opts.log?.warn({ volume: this.opts.access.volume }, 'cluster: this appliance is no longer in the cluster: the shared state was unmounted, its last document stays as its own');
  }

  /** Each appliance writes only its own record, so no lock is needed. */
  private async publishRecord(): Promise<void> {
    const rec: MemberRecord = { hostname: this.opts.hostname, ...this.opts.record, at: new Date().toISOString() };
    // glusterd makes a new brick's directory but not its parents.
    if (rec.brickDir) await mkdir(rec.brickDir, { recursive: true });
    await mkdir(join(this.opts.mountDir, 'members'), { recursive: true });
    await writeFileAtomic(join(this.opts.mountDir, 'members', `${this.opts.hostname}.json`), `${JSON.stringify(rec)}\n`, 0o644);
  }

  /** Every member record on the volume (empty when it is not mounted). */
  async memberRecords(): Promise<Map<string, MemberRecord>> {
    const out = new Map<string, MemberRecord>();
    if (!this.mounted) return out;
    const dir = join(this.opts.mountDir, 'members');
    for (const f of await readdir(dir).catch(() => [] as string[])) {
      if (!f.endsWith('.json') || f.startsWith('.')) continue;
      try {
        const r = JSON.parse(await readFile(join(dir, f), 'utf8')) as MemberRecord;
        if (typeof r.hostname === 'string') out.set(r.hostname, r);
      } catch {
        /* a record being replaced or unreadable: skipped */
      }
    }
    return out;
  }

  private setError(msg: string | null): void {
    if (msg && msg !== this.error) this.opts.log?.warn({ error: msg }, 'cluster: shared state not in sync');
    if (!msg && this.error) this.opts.log?.info('cluster: shared state in sync again');
    this.error = msg;
  }

  private async seed(): Promise<void> {
    // Barrier: commits already queued (their guard ran while the volume did not exist) land first.
    await this.opts.store.update('system', 'cluster state seed barrier', () => undefined);
    const shared = sharedPartOf(this.opts.store.state);
    const head = await this.file.write(0, shared, { who: 'system', origin: this.opts.hostname, message: `cluster state created from ${this.opts.hostname}` });
    this.remember(head);
    this.phase = 'synced';
    this.opts.log?.info({ revision: head.revision }, 'cluster: seeded the shared state');
  }

  private remember(head: SharedHead): void {
    this.applied = { revision: head.revision, key: sharedKey(head.shared), origin: head.origin, at: head.at };
  }

  private async adopt(head: SharedHead): Promise<void> {
    const before = this.applied;
    // Set first, so the guard sees this change as the cluster's own.
    this.remember(head);
    try {
      const rev = await this.opts.store.update(`cluster:${head.origin}`, `cluster revision ${head.revision} (${head.who} on ${head.origin}): ${head.message}`, (draft) =>
        mergeState(draft, head.shared),
      );
      this.opts.log?.info({ clusterRevision: head.revision, origin: head.origin, revision: rev.revision }, 'cluster: applied the shared state');
    } catch (e) {
      this.applied = before;
      throw new Error(`cannot apply cluster revision ${head.revision} from ${head.origin}: ${(e as Error).message}`);
    }
  }

  private async guard(prev: State, next: State, meta: { who: string; message: string }): Promise<void> {
    const shared = sharedPartOf(next);
    const key = sharedKey(shared);
    // Adopting the cluster's document, or a change of local objects only.
    if (this.applied && key === this.applied.key) return;
    if (key === sharedKey(sharedPartOf(prev))) return;
    if (!this.mounted || !this.applied) {
      if (!this.volumeExists) {
        // The poll's answers may be seconds old: ask again.
        if (!(await this.opts.clustered())) return; // alone: local only
        this.volumeExists = await this.opts.access.exists();
        if (!this.volumeExists) {
          if (!this.opts.founder || (await this.opts.founder())) return; // seeds the volume from this document
          throw new ClusterError('STATE_UNAVAILABLE', `the cluster's shared state (volume ${this.opts.access.volume}) is being created by the appliance that invited this one: retry shortly`);
        }
      }
      throw new ClusterError('STATE_UNAVAILABLE', `the cluster's shared state (volume ${this.opts.access.volume}) is not ${this.mounted ? 'read' : 'mounted'} yet on this appliance${this.error ? ` (${this.error})` : ''}: retry shortly`);
    }
    try {
      const head = await this.file.write(this.applied.revision, shared, { who: meta.who, origin: this.opts.hostname, message: meta.message });
      this.remember(head);
      this.writable = true;
    } catch (e) {
      if (e instanceof ClusterError && e.code === 'STATE_CONFLICT') setImmediate(() => void this.check());
      if (e instanceof ClusterError && e.code === 'NO_QUORUM') {
        this.writable = false;
        this.lastWriteProbe = Date.now();
      }
      throw e;
    }
  }
}
