/**
 * Duplicate request cache (as knfsd's nfscache.c and ganesha's
 * nfs_dupreq.c). A client that does not see a reply retransmits the call
 * with the same xid, often on a new connection; running a non-idempotent
 * procedure twice is wrong (a retried REMOVE would answer NOENT, a retried
 * CREATE EXIST). Calls of procedures flagged CAN_BE_DUP are keyed by
 * (client address, xid, program, version, procedure, checksum of the
 * arguments); a retransmission gets the first reply, or waits for it while
 * the first is still running. Bounded by entry count and age.
 */
import { crc32 } from 'node:zlib';
import type { Chunk } from '../xdr/writer.js';

/** Bytes of arguments checksummed: enough to tell apart calls that reuse an xid. */
const SUM_BYTES = 256;

interface Entry {
  reply: Promise<Chunk[] | undefined>;
  at: number;
}

export class DuplicateRequestCache {
  private readonly entries = new Map<string, Entry>();
  hits = 0;

  constructor(
    private readonly maxEntries = 8192,
    private readonly maxAgeMs = 120_000,
  ) {}

  static key(address: string, xid: number, prog: number, vers: number, proc: number, args: Buffer): string {
    const sum = crc32(args.subarray(0, SUM_BYTES));
    return `${address}|${xid}|${prog}|${vers}|${proc}|${args.length}|${sum}`;
  }

  /** The reply of an earlier identical call (resolved when it is ready), or undefined. */
  lookup(key: string): Promise<Chunk[] | undefined> | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (Date.now() - e.at > this.maxAgeMs) {
      this.entries.delete(key);
      return undefined;
    }
    this.hits++;
    return e.reply;
  }

  /** Records a call in progress; its reply (or undefined if none was sent) settles `reply`. */
  insert(key: string, reply: Promise<Chunk[] | undefined>): void {
    this.entries.set(key, { reply, at: Date.now() });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
