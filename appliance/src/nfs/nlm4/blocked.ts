/**
 * Blocked lock requests (NLM LOCK with block set that conflicted) and the
 * GRANTED callback that ends them: when the conflicting lock goes (UNLOCK,
 * FREE_ALL, SM_NOTIFY), the oldest waiters whose range is now free get
 * the lock in the table and their host's lock manager is told
 *
 *   nlm4_res NLM4_GRANTED(nlm4_testargs) = 5;   // sent to the client
 *
 * through the client's portmapper (program 100021 v4). A client that
 * does not answer, or answers other than NLM4_GRANTED (it no longer
 * waits: the process was interrupted), gets nothing: the lock is released
 * again and the next waiter tried. A waiter is also dropped by CANCEL, and
 * Linux clients re-send a blocked LOCK every 30 s, which replaces their
 * entry (so a lost callback costs at most that).
 */
import { plainAddress } from '../exports.js';
import { rpcCall } from '../rpc/call.js';
import { pmapGetPort } from '../rpc/portmap.js';
import type { Logger } from '../rpc/program.js';
import { XdrWriter } from '../xdr/writer.js';
import { sameOwner, type LockTable, type Owner } from './locks.js';
import { encodeLock, nlm4_stats, NLM_PROGRAM, NLM_V4, type Nlm4Lock } from './types.js';

const NLM4_GRANTED_PROC = 5;
/** Waiters kept at most, over all files (more are answered BLOCKED and left to poll). */
const MAX_WAITERS = 4096;

export interface Waiter {
  file: string;
  owner: Owner;
  exclusive: boolean;
  start: bigint;
  end: bigint;
  cookie: Buffer;
  lock: Nlm4Lock;
  /** The client's address: where its portmapper is. */
  address: string;
}

function same(a: Waiter, b: Waiter): boolean {
  return a.file === b.file && sameOwner(a.owner, b.owner) && a.start === b.start && a.end === b.end;
}

export class BlockedLocks {
  private readonly waiting: Waiter[] = [];
  /** Granted, their callback not answered yet. */
  private readonly pending = new Set<Waiter>();

  constructor(private readonly opts: { log: Logger; portmapperPort?: number; timeoutMs?: number }) {}

  /** Queues a blocked request (a re-sent one replaces its entry). */
  add(w: Waiter): void {
    const i = this.waiting.findIndex((x) => same(x, w));
    if (i >= 0) this.waiting.splice(i, 1);
    if (this.waiting.length >= MAX_WAITERS) return;
    this.waiting.push({ ...w, address: plainAddress(w.address) });
  }

  /**
   * The owner was granted a lock on `file` by asking itself (a re-sent
   * LOCK): a callback still in flight for it must not take it back.
   */
  confirm(file: string, owner: Owner): void {
    for (const w of this.pending) if (w.file === file && sameOwner(w.owner, owner)) this.pending.delete(w);
  }

  /** CANCEL: forgets the request. */
  cancel(w: Omit<Waiter, 'cookie' | 'lock' | 'address'>): void {
    const i = this.waiting.findIndex((x) => same(x, w as Waiter));
    if (i >= 0) this.waiting.splice(i, 1);
  }

  /** A host rebooted or freed everything: its requests go too. */
  dropHost(host: string): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) if (this.waiting[i]!.owner.host === host) this.waiting.splice(i, 1);
  }

  get size(): number {
    return this.waiting.length;
  }

  /**
   * Grants, oldest first, every waiter on `file` whose range is free now,
   * and tells each host (in the background). Call after locks went.
   */
  wake(locks: LockTable, file: string): void {
    for (let i = 0; i < this.waiting.length; ) {
      const w = this.waiting[i]!;
      if (w.file !== file || locks.lock(w.file, w.owner, w.exclusive, w.start, w.end) !== 'granted') {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      this.pending.add(w);
      void this.tell(w).then((taken) => {
        const still = this.pending.delete(w);
        if (taken || !still) return;
        // Nobody waits for it any more: give it back, and let the next one have it.
        locks.unlock(w.file, w.owner, w.start, w.end);
        this.wake(locks, file);
      });
    }
  }

  /** wake() for every file someone waits on (after a host's locks went, across files). */
  wakeAll(locks: LockTable): void {
    for (const file of new Set(this.waiting.map((w) => w.file))) this.wake(locks, file);
  }

  /** Sends NLM4_GRANTED to the waiter's host; true when it took the lock. */
  private async tell(w: Waiter): Promise<boolean> {
    const port = await pmapGetPort(w.address, NLM_PROGRAM, NLM_V4, { port: this.opts.portmapperPort, timeoutMs: this.opts.timeoutMs });
    const l = w.lock;
    // nlm4_testargs: cookie, exclusive, the lock as it was asked for.
    const args = encodeLock(new XdrWriter().opaque(w.cookie).bool(w.exclusive), l).toBuffer();
    const r = port ? await rpcCall({ host: w.address, port, timeoutMs: this.opts.timeoutMs }, NLM_PROGRAM, NLM_V4, NLM4_GRANTED_PROC, args) : undefined;
    let stat: number | undefined;
    try {
      r?.opaque(1024);
      stat = r?.u32();
    } catch {
      stat = undefined;
    }
    if (stat === nlm4_stats.NLM4_GRANTED) {
      this.opts.log.debug({ host: l.callerName, svid: l.svid }, 'NLM: a blocked lock was granted (GRANTED callback taken)');
      return true;
    }
    this.opts.log.info({ host: l.callerName, svid: l.svid, address: w.address, answer: stat ?? 'none' }, 'NLM: GRANTED callback not taken; the lock goes to the next waiter');
    return false;
  }
}
