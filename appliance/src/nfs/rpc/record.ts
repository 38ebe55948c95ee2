/**
 * TCP record marking (RFC 5531 §11): each record is one or more fragments,
 * each preceded by a 4-byte header whose top bit marks the last fragment
 * and whose low 31 bits give the fragment's length. Records are bounded by
 * `maxRecord`: a peer announcing more is a protocol error (the connection
 * is closed; there is no xid yet to reply to).
 */

export class RecordTooLargeError extends Error {
  readonly code = 'RECORD_TOO_LARGE';
  constructor(
    readonly size: number,
    readonly max: number,
    why?: string,
  ) {
    super(why ? `RPC record refused: ${why}` : `RPC record of at least ${size} bytes exceeds the limit of ${max}`);
  }
}

const LAST_FRAGMENT = 0x80000000;
const EMPTY = Buffer.alloc(0);
/** Fragments per record: real clients send one, or a few for huge records. */
const MAX_FRAGMENTS = 1024;

/** The fragments of a record being gathered (both decoders below). */
class Fragments {
  private parts: Buffer[] = [];
  private count = 0;
  bytes = 0;

  /** Whether earlier fragments (with bytes) wait for the last one. */
  get pending(): boolean {
    return this.parts.length > 0;
  }

  /** A record arrived whole: empty fragments counted before it are over. */
  restart(): void {
    this.count = 0;
  }

  /** Adds one fragment; the whole record when it was the last. */
  add(frag: Buffer, last: boolean, maxRecord: number): Buffer | undefined {
    // Empty fragments add nothing but could be sent forever: count them too.
    if (++this.count > MAX_FRAGMENTS) throw new RecordTooLargeError(this.bytes + frag.length, maxRecord, `more than ${MAX_FRAGMENTS} fragments`);
    if (frag.length > 0) this.parts.push(frag);
    this.bytes += frag.length;
    if (!last) return undefined;
    const record = Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    this.bytes = 0;
    this.count = 0;
    return record;
  }
}

/**
 * Splits a byte stream into records. A record that arrived whole inside
 * one chunk is handed on as a view of that chunk (no copy); otherwise its
 * fragments are gathered into one Buffer of the exact size.
 */
export class RecordDecoder {
  private queue: Buffer[] = [];
  private queued = 0;
  /** Fragments of the record being assembled. */
  private readonly fragments = new Fragments();

  /**
   * `onRecord` gets each record; when it also gets `release`, the record
   * lives in a pooled buffer that must not be used after calling it.
   */
  constructor(
    private readonly maxRecord: number,
    private readonly onRecord: (record: Buffer, release?: () => void) => void,
    private readonly pool?: BufferPool,
  ) {}

  /** Feeds bytes; throws RecordTooLargeError (the caller closes the connection). */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
    for (;;) {
      if (this.queued < 4) return;
      const header = this.peekU32();
      const len = header & 0x7fffffff;
      const last = (header & LAST_FRAGMENT) !== 0;
      if (this.fragments.bytes + len > this.maxRecord) throw new RecordTooLargeError(this.fragments.bytes + len, this.maxRecord);
      if (this.queued < 4 + len) return;
      this.take(4);
      if (last && !this.fragments.pending) {
        this.fragments.restart();
        // A big record spread over many chunks (a 1 MiB WRITE) is gathered
        // into a pooled buffer: no fresh 1 MiB allocation per call.
        if (this.pool && len >= this.pool.minSize && this.queue[0]!.length < len) {
          const full = this.pool.get();
          const frag = this.take(len, full);
          this.onRecord(frag, () => this.pool!.put(full));
        } else {
          this.onRecord(this.take(len));
        }
        continue;
      }
      const record = this.fragments.add(this.take(len), last, this.maxRecord);
      if (record) this.onRecord(record);
    }
  }

  /** Bytes held while waiting for the rest of a record. */
  get buffered(): number {
    return this.queued + this.fragments.bytes;
  }

  private peekU32(): number {
    const first = this.queue[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    const b = Buffer.alloc(4);
    let o = 0;
    for (const c of this.queue) {
      const n = Math.min(4 - o, c.length);
      c.copy(b, o, 0, n);
      o += n;
      if (o === 4) break;
    }
    return b.readUInt32BE(0);
  }

  private take(n: number, into?: Buffer): Buffer {
    if (n === 0) return EMPTY;
    this.queued -= n;
    const first = this.queue[0]!;
    if (first.length >= n && !into) {
      const out = first.subarray(0, n);
      if (first.length === n) this.queue.shift();
      else this.queue[0] = first.subarray(n);
      return out;
    }
    const out = into ? into.subarray(0, n) : Buffer.allocUnsafe(n);
    let o = 0;
    while (o < n) {
      const c = this.queue[0]!;
      const k = Math.min(n - o, c.length);
      c.copy(out, o, 0, k);
      o += k;
      if (k === c.length) this.queue.shift();
      else this.queue[0] = c.subarray(k);
    }
    return out;
  }
}

/**
 * A few buffers of the largest record size, reused for big records so that
 * WRITE-heavy loads do not allocate (and garbage-collect) 1 MiB per call.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    readonly size: number,
    readonly minSize = 64 * 1024,
    private readonly keep = 16,
  ) {}

  get(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }

  put(b: Buffer): void {
    if (this.free.length < this.keep && b.length === this.size) this.free.push(b);
  }
}

/** The 4-byte header of a single-fragment record of `length` bytes. */
export function recordHeader(length: number): Buffer {
  const h = Buffer.allocUnsafe(4);
  h.writeUInt32BE((LAST_FRAGMENT | length) >>> 0, 0);
  return h;
}

/** Size of a connection's arena for small records. */
const ARENA = 256 * 1024;
/** Space left in an arena below which the next read goes to a fresh one. */
const MIN_READ = 16 * 1024;

/**
 * The same framing as RecordDecoder, for a socket that reads straight into
 * buffers we hand it (net.Socket `onread`), so that the process does not
 * allocate a 64 KiB buffer per socket read (that churn of external memory
 * made V8 run a full collection every few dozen MiB written).
 *
 * Small records land in an arena and are handed on as views of it. An
 * arena's bytes are written once, never reused: a view stays valid for as
 * long as anything holds it, and the garbage collector frees the arena
 * after the last one is gone.
 *
 * A big single-fragment record (a 1 MiB WRITE) is read into a pooled
 * buffer: once its header is known, the bytes already received move there
 * (at most one socket read), and the socket then reads exactly the rest of
 * that record into it. It reaches pwrite without a copy, and the buffer
 * returns to the pool when `release` is called (the call is over).
 */
export class RecordArena {
  private arena = Buffer.allocUnsafeSlow(ARENA);
  /** First byte not yet framed. */
  private start = 0;
  /** End of the bytes received. */
  private end = 0;
  /** Bytes from `start` the pending fragment needs, header included (0: unknown). */
  private need = 0;
  private needLast = false;
  /** The pooled buffer a big record is being read into, and how much of it has arrived. */
  private big?: Buffer;
  private bigEnd = 0;
  private readonly fragments = new Fragments();

  constructor(
    private readonly maxRecord: number,
    private readonly onRecord: (record: Buffer, release?: () => void) => void,
    private readonly pool?: BufferPool,
  ) {}

  /** Where the socket should read next (its `onread.buffer` generator). */
  next(): Buffer {
    if (this.big) return this.big.subarray(this.bigEnd, this.need);
    const pool = this.pool;
    if (pool && this.needLast && !this.fragments.pending && this.need >= pool.minSize && this.need <= pool.size) {
      const big = pool.get();
      this.bigEnd = this.arena.copy(big, 0, this.start, this.end);
      this.start = this.end;
      this.big = big;
      return big.subarray(this.bigEnd, this.need);
    }
    if (this.arena.length - this.end < MIN_READ || (this.need > 0 && this.start + this.need > this.arena.length)) this.move();
    // While the next record's size is unknown, read at most MIN_READ: the
    // first read of a 1 MiB WRITE would otherwise take up to a whole arena
    // of its data, to be copied into the pooled buffer, and use that arena
    // up (its bytes are never reused). At 1 GB/s of WRITEs that was a fresh
    // 256 KiB arena per call, and V8 ran major collections for the
    // external memory (~12% of the server's CPU).
    if (this.pool && this.need === 0) return this.arena.subarray(this.end, this.end + MIN_READ);
    return this.arena.subarray(this.end);
  }

  /** `n` bytes were read into the buffer `next()` gave; throws RecordTooLargeError. */
  received(n: number): void {
    if (this.big) {
      this.bigEnd += n;
      if (this.bigEnd < this.need) return;
      const big = this.big;
      const len = this.need - 4;
      this.big = undefined;
      this.need = 0;
      this.onRecord(big.subarray(4, 4 + len), () => this.pool!.put(big));
      return;
    }
    this.end += n;
    this.need = 0;
    const a = this.arena;
    while (this.end - this.start >= 4) {
      const header = a.readUInt32BE(this.start);
      const len = header & 0x7fffffff;
      const last = (header & LAST_FRAGMENT) !== 0;
      if (this.fragments.bytes + len > this.maxRecord) throw new RecordTooLargeError(this.fragments.bytes + len, this.maxRecord);
      if (this.end - this.start < 4 + len) {
        this.need = 4 + len;
        this.needLast = last;
        return;
      }
      const frag = a.subarray(this.start + 4, this.start + 4 + len);
      this.start += 4 + len;
      if (last && !this.fragments.pending) {
        this.fragments.restart();
        this.onRecord(frag);
        continue;
      }
      // Views stay valid (arena bytes are never rewritten) until joined.
      const record = this.fragments.add(frag, last, this.maxRecord);
      if (record) this.onRecord(record);
    }
  }

  /** Bytes held while waiting for the rest of a record. */
  get buffered(): number {
    return (this.big ? this.bigEnd : this.end - this.start) + this.fragments.bytes;
  }

  /** Continues in a fresh arena, carrying over the unframed bytes. */
  private move(): void {
    const carried = this.end - this.start;
    const fresh = Buffer.allocUnsafeSlow(Math.max(ARENA, this.need + MIN_READ, carried + MIN_READ));
    this.arena.copy(fresh, 0, this.start, this.end);
    this.arena = fresh;
    this.start = 0;
    this.end = carried;
  }
}
