/**
 * Heal progress: how many entries are waiting for self-heal, how fast
 * that number falls, and when it should reach zero.
 *
 * The source is `gluster volume heal VOL statistics heal-count`: the
 * self-heal daemon counts the entries of each brick's heal index
 * (`.glusterfs/indices/xattrop`), which takes about a second even while a
 * brick is down, where `heal info` walks every entry and takes ~10 s. It
 * has no `--xml` form (Gluster 10.3 prints text with or without `--xml`):
 *
 *   Brick 10.0.0.2:/b/1/brick
 *   Status: Brick is not connected
 *   No gathered input for this brick
 *
 *   Brick 10.0.0.2:/b/2/brick
 *   Number of entries: 305
 *
 * Counts are entries (files, directories, 64 MiB shards), not bytes: a
 * rate is "entries per second", and one huge unsharded file heals as a
 * single entry (no rate until it is done). With sharding (the VM profile)
 * a disk image is many entries, so the estimate moves smoothly.
 *
 * Each entry needing heal sits in the index of every brick that holds a
 * good copy (a replica 3 set with one brick down lists it on both live
 * bricks), so the pool's `pending` is, per replica set, the largest brick
 * count of the set, summed over sets — the number of entries to heal, not
 * the number of index records.
 */

export interface HealCountBrick {
  /** "host:/path", as Gluster names the brick. */
  brick: string;
  /** The self-heal daemon reached the brick. */
  connected: boolean;
  /** Entries in the brick's heal index; null when it could not be asked. */
  entries: number | null;
}

/** Pure: `volume heal VOL statistics heal-count` text → counts per brick, in volume order. */
export function parseHealCount(text: string): HealCountBrick[] {
  const out: HealCountBrick[] = [];
  let cur: HealCountBrick | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const brick = /^Brick (\S+:\/.*)$/.exec(line);
    if (brick) {
      cur = { brick: brick[1]!, connected: false, entries: null };
      out.push(cur);
      continue;
    }
    const n = /^Number of entries:\s*(\d+)$/.exec(line);
    if (n && cur) {
      cur.connected = true;
      cur.entries = Number(n[1]);
    }
  }
  return out;
}

/**
 * Entries to heal in a volume whose bricks come in replica sets of
 * `replicaCount` (volume order): per set the largest count, summed.
 * Bricks that could not be asked count as 0 (their set's other bricks
 * carry the same entries).
 */
export function pendingOf(bricks: readonly HealCountBrick[], replicaCount: number): number {
  const per = Math.max(1, replicaCount);
  let total = 0;
  for (let i = 0; i < bricks.length; i += per) {
    total += Math.max(0, ...bricks.slice(i, i + per).map((b) => b.entries ?? 0));
  }
  return total;
}

/**
 * Files in split-brain (the copies of a replica set disagree and
 * self-heal will not choose): per replica set the largest brick count
 * of `heal info summary`'s numberOfEntriesInSplitBrain, summed — the same
 * rule as pendingOf. Bricks that could not be asked count as 0.
 */
export function splitBrainOf(bricks: readonly { splitBrain?: number }[], replicaCount: number): number {
  const per = Math.max(1, replicaCount);
  let total = 0;
  for (let i = 0; i < bricks.length; i += per) {
    total += Math.max(0, ...bricks.slice(i, i + per).map((b) => b.splitBrain ?? 0));
  }
  return total;
}

/** Pure: the pool problem for `count` files in split-brain (undefined for none), with how to resolve them. */
export function splitBrainProblem(volume: string, count: number): string | undefined {
  if (count <= 0) return undefined;
  const files = count === 1 ? '1 file is' : `${count} files are`;
  return (
    `${files} in split-brain (the copies disagree and self-heal will not pick one): ` +
    `list them with \`gluster volume heal ${volume} info split-brain\`, then keep one copy of each with ` +
    `\`gluster volume heal ${volume} split-brain latest-mtime <file>\` (or bigger-file <file>, or source-brick <host:brick> <file>)`
  );
}

/** What GET /api/v1/pools/:id shows as `heal` (null there when nothing is pending). */
export interface HealProgress {
  /** Entries waiting for heal (per replica set the largest brick count, summed). */
  pending: number;
  /** Entries in each reachable brick's heal index (bricks that could not be asked are left out). */
  perBrick: { brick: string; pending: number }[];
  /** Entries healed per second over the last minute; null until two samples exist. */
  ratePerSec: number | null;
  /** Seconds until `pending` reaches 0 at that rate; null when it does not fall. */
  etaSeconds: number | null;
  /** When the counts were read (ISO 8601). */
  sampledAt: string;
}

export interface HealSample {
  /** ms since the epoch */
  at: number;
  pending: number;
}

/**
 * Pure: the healing rate (entries/s, ≥ 0) from samples, as the negated
 * least-squares slope of pending over time — steadier than the last two
 * samples when counts jump between reads. Null with fewer than two
 * samples or when they span no time.
 */
export function healRate(samples: readonly HealSample[]): number | null {
  if (samples.length < 2) return null;
  const t0 = samples[0]!.at;
  const n = samples.length;
  let sx = 0;
  let sy = 0;
  for (const s of samples) {
    sx += (s.at - t0) / 1000;
    sy += s.pending;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  for (const s of samples) {
    const dx = (s.at - t0) / 1000 - mx;
    sxy += dx * (s.pending - my);
    sxx += dx * dx;
  }
  if (sxx === 0) return null;
  return Math.max(0, -sxy / sxx);
}

/** Pure: seconds left at `rate` entries/s (rounded up); null when nothing falls. */
export function healEta(pending: number, rate: number | null): number | null {
  if (pending === 0) return 0;
  if (rate === null || rate <= 0) return null;
  return Math.ceil(pending / rate);
}

/**
 * Successive heal-count samples of one volume → HealProgress. Keeps the
 * samples of the last `windowMs` (default 60 s) since the count last
 * rose: while a brick is down the count grows with every write, and
 * those samples would hide the fall once heal runs.
 */
export class HealTracker {
  private samples: HealSample[] = [];
  private last: { bricks: HealCountBrick[]; pending: number; at: number } | undefined;

  constructor(private readonly windowMs = 60_000) {}

  add(bricks: HealCountBrick[], replicaCount: number, at = Date.now()): HealProgress {
    const pending = pendingOf(bricks, replicaCount);
    // A rise (writes while a brick is down, or a fresh episode) says nothing about
    // how fast heal goes: the fit starts again from here.
    if (this.last && pending > this.last.pending) this.samples = [];
    this.samples.push({ at, pending });
    this.samples = this.samples.filter((s) => s.at >= at - this.windowMs);
    this.last = { bricks, pending, at };
    return this.progress()!;
  }

  /** The latest progress, or undefined before the first sample. */
  progress(): HealProgress | undefined {
    if (!this.last) return undefined;
    const rate = healRate(this.samples);
    return {
      pending: this.last.pending,
      perBrick: this.last.bricks.filter((b) => b.entries !== null).map((b) => ({ brick: b.brick, pending: b.entries! })),
      ratePerSec: rate === null ? null : Math.round(rate * 100) / 100,
      etaSeconds: healEta(this.last.pending, rate),
      sampledAt: new Date(this.last.at).toISOString(),
    };
  }
}
