/**
 * The byte-range locks NLM clients hold, with POSIX (fcntl) semantics:
 *
 *   - an owner is a process on a client host: (caller_name, svid, oh);
 *   - two locks conflict when their ranges overlap, their owners differ
 *     and at least one is exclusive (a write lock);
 *   - a lock replaces whatever its owner held in its range (a shared lock
 *     over part of an exclusive one splits it), and touching or
 *     overlapping locks of one owner and one kind merge;
 *   - an unlock removes the owner's locks from its range, splitting them.
 *
 * Ranges are [start, end) on 64-bit offsets; l_len 0 runs to END (2^64).
 * Locks live in this process: a restart or a failover drops them (clients
 * are not told; see docs). Bounded: past MAX_LOCKS a new lock is refused
 * (NLM4_DENIED_NOLOCKS) rather than grow without limit. Each call is
 * linear in the locks of its file (a scan and one copy), never worse.
 */

export const END = 1n << 64n;
export const MAX_LOCKS = 65536;

export interface Owner {
  host: string;
  svid: number;
  oh: Buffer;
}

export interface Held extends Owner {
  exclusive: boolean;
  start: bigint;
  /** Exclusive end; END for "to the end of the file". */
  end: bigint;
}

/** The range of (l_offset, l_len), or undefined when it runs past 2^64 (NLM4_FBIG). */
export function rangeOf(offset: bigint, len: bigint): { start: bigint; end: bigint } | undefined {
  if (len === 0n) return { start: offset, end: END };
  const end = offset + len;
  return end > END ? undefined : { start: offset, end };
}

/** l_len of a held range (0 when it runs to the end). */
export function lenOf(h: Pick<Held, 'start' | 'end'>): bigint {
  return h.end === END ? 0n : h.end - h.start;
}

/** The same process on the same host. */
export function sameOwner(a: Owner, b: Owner): boolean {
  return a.host === b.host && a.svid === b.svid && a.oh.equals(b.oh);
}

/** Inserts `h` into `held` (sorted by start), keeping the order. */
function insert(held: Held[], h: Held): void {
  let lo = 0;
  let hi = held.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (held[mid]!.start <= h.start) lo = mid + 1;
    else hi = mid;
  }
  held.splice(lo, 0, h);
}

export class LockTable {
  /** Locks per file (export id and backend handle, as the caller keys them), sorted by start. */
  private readonly files = new Map<string, Held[]>();
  private count = 0;

  /** `max`: locks held at most, over all files (MAX_LOCKS). */
  constructor(private readonly max = MAX_LOCKS) {}

  /** The first lock of another owner that conflicts with the one asked for, if any. */
  test(file: string, owner: Owner, exclusive: boolean, start: bigint, end: bigint): Held | undefined {
    for (const h of this.files.get(file) ?? []) {
      if (h.start >= end) break;
      if (h.end > start && (exclusive || h.exclusive) && !sameOwner(h, owner)) return h;
    }
    return undefined;
  }

  /**
   * Takes the lock unless another owner's conflicts: 'granted', the
   * conflicting lock, or 'full' when the table is at its bound.
   */
  lock(file: string, owner: Owner, exclusive: boolean, start: bigint, end: bigint): 'granted' | 'full' | Held {
    const conflict = this.test(file, owner, exclusive, start, end);
    if (conflict) return conflict;
    // A lock may split one of the owner's in two; merging gives back later.
    if (this.count + 2 > this.max) return 'full';
    let s = start;
    let e = end;
    const out: Held[] = [];
    const later: Held[] = [];
    for (const h of this.files.get(file) ?? []) {
      // Other owners' locks, and the owner's that do not even touch the range, stay.
      if (!sameOwner(h, owner) || h.end < start || h.start > end) {
        out.push(h);
      } else if (h.exclusive === exclusive) {
        // Same kind, overlapping or touching: joins the new lock.
        if (h.start < s) s = h.start;
        if (h.end > e) e = h.end;
      } else {
        // The other kind: what lies outside the range is kept.
        if (h.start < start) out.push({ ...h, end: start });
        if (h.end > end) later.push({ ...h, start: end });
      }
    }
    later.push({ host: owner.host, svid: owner.svid, oh: owner.oh, exclusive, start: s, end: e });
    for (const h of later) insert(out, h);
    this.store(file, out);
    return 'granted';
  }

  /** Removes the owner's locks from [start, end). */
  unlock(file: string, owner: Owner, start: bigint, end: bigint): void {
    const held = this.files.get(file);
    if (!held) return;
    const out: Held[] = [];
    let right: Held | undefined;
    for (const h of held) {
      if (!sameOwner(h, owner) || h.end <= start || h.start >= end) {
        out.push(h);
        continue;
      }
      if (h.start < start) out.push({ ...h, end: start });
      if (h.end > end) right = { ...h, start: end };
    }
    if (right) insert(out, right);
    this.store(file, out);
  }

  /** Drops every lock of a client host (FREE_ALL, SM_NOTIFY); returns how many went. */
  dropHost(host: string): number {
    let dropped = 0;
    for (const [file, held] of this.files) {
      const kept = held.filter((h) => h.host !== host);
      dropped += held.length - kept.length;
      this.store(file, kept);
    }
    return dropped;
  }

  /** Locks held, over all files. */
  get size(): number {
    return this.count;
  }

  /** A file's locks (tests, diagnostics). */
  held(file: string): readonly Held[] {
    return this.files.get(file) ?? [];
  }

  /** Replaces a file's locks (`held` sorted by start). */
  private store(file: string, held: Held[]): void {
    this.count += held.length - (this.files.get(file)?.length ?? 0);
    if (held.length === 0) this.files.delete(file);
    else this.files.set(file, held);
  }
}
