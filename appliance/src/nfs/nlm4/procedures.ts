/**
 * The NLM v4 procedure table (RFC 1813 appendix II), served on the NFS
 * port: the lock manager Linux NFSv3 clients (Proxmox, XCP-ng, any Linux
 * mounted without `nolock`) need for fcntl/flock locks — QEMU locks its
 * disk images with them.
 *
 *   NLM4_NULL 0, NLM4_TEST 1, NLM4_LOCK 2, NLM4_CANCEL 3, NLM4_UNLOCK 4,
 *   NLM4_FREE_ALL 23.
 *
 * The file handle is the NFS handle: the dispatcher checks it and the
 * client's access to its export as for NFS calls (a bad or foreign handle
 * is NLM4_STALE_FH, a client outside the export's list NLM4_FAILED), and
 * the handler looks the file up (gone: NLM4_STALE_FH).
 *
 * Blocking requests: a lock that conflicts is answered NLM4_BLOCKED and
 * queued; when its range frees it is granted and the client told with a
 * GRANTED callback (blocked.ts); CANCEL drops it, and the client's own
 * polling (Linux re-sends every 30 s) covers a callback lost. Not served
 * (PROC_UNAVAIL): the GRANTED procedure itself (a client's), the
 * asynchronous *_MSG / *_RES procedures (answers would go to the client's
 * own port) and SHARE/UNSHARE/NM_LOCK (DOS share modes, PC clients).
 */
import { nfsstat3 } from '../backend/errors.js';
import { FileHandleArg, type CallContext, type ProcEntry, type Program, type ServerState } from '../rpc/program.js';
import type { XdrReader } from '../xdr/reader.js';
import { lenOf, rangeOf, type Owner } from './locks.js';
import { cookie, decodeLock, encodeHolder, encodeRes, LM_MAXNAMELEN, nlm4_stats, NLM_PROGRAM, NLM_V4, type Nlm4Holder, type Nlm4Lock } from './types.js';

interface Res {
  cookie: Buffer;
  stat: nlm4_stats;
}

interface TestRes extends Res {
  holder?: Nlm4Holder;
}

interface LockCall {
  cookie: Buffer;
  block: boolean;
  exclusive: boolean;
  lock: Nlm4Lock;
  fh: FileHandleArg;
}

/** What the dispatcher's refusal (an nfsstat3) means to an NLM client. */
function refusal(status: number): nlm4_stats {
  switch (status) {
    case nfsstat3.NFS3ERR_BADHANDLE:
    case nfsstat3.NFS3ERR_STALE:
    case nfsstat3.NFS3ERR_NOENT:
      return nlm4_stats.NLM4_STALE_FH;
    case nfsstat3.NFS3ERR_ROFS:
      return nlm4_stats.NLM4_ROFS;
    case nfsstat3.NFS3ERR_FBIG:
      return nlm4_stats.NLM4_FBIG;
    default:
      return nlm4_stats.NLM4_FAILED;
  }
}

/** The lock table's key of the file a handle names (its export, its backend handle). */
function fileKey(ctx: CallContext, fh: FileHandleArg): string {
  return `${ctx.export!.id}:${fh.backend.toString('hex')}`;
}

/**
 * A client host is gone (FREE_ALL from its lock manager, SM_NOTIFY from
 * its statd): its locks and waiting requests go, waiters its locks held
 * back get theirs, and it is no longer one to tell after our restart.
 * Returns how many locks went.
 */
export async function dropHost(server: ServerState, host: string): Promise<number> {
  const n = server.locks.dropHost(host);
  server.blocked.dropHost(host);
  server.blocked.wakeAll(server.locks);
  await server.monitor.forget(host);
  return n;
}

function ownerOf(l: Nlm4Lock): Owner {
  return { host: l.callerName, svid: l.svid, oh: l.oh };
}

/** What every entry with a lock argument shares: its handle checked by the dispatcher, refusals as NLM statuses. */
const onFile = {
  handles: (a: { fh: FileHandleArg }) => [a.fh],
  fail: (status: number, a: { cookie: Buffer }): Res => ({ cookie: a.cookie, stat: refusal(status) }),
};

/**
 * The range a TEST or LOCK asks for (undefined past 2^64: NLM4_FBIG), once
 * the file is known to exist: a removed file's handle is NLM4_STALE_FH
 * (thrown, mapped by `fail`).
 */
async function rangeOfFile(ctx: CallContext, a: LockCall): Promise<{ start: bigint; end: bigint } | undefined> {
  const range = rangeOf(a.lock.offset, a.lock.len);
  if (range) await ctx.backend.getattr(a.fh.backend);
  return range;
}

function lockCall(r: XdrReader, withBlock: boolean): LockCall {
  const c = cookie(r);
  const block = withBlock ? r.bool() : false;
  const exclusive = r.bool();
  const lock = decodeLock(r);
  return { cookie: c, block, exclusive, lock, fh: new FileHandleArg(lock.fh) };
}

const nlmNull: ProcEntry<void, void> = {
  name: 'NLMPROC4_NULL',
  flags: 0,
  decode: () => undefined,
  handler: async () => undefined,
  encode: () => undefined,
};

const nlmTest: ProcEntry<LockCall, TestRes> = {
  name: 'NLMPROC4_TEST',
  flags: 0,
  decode: (r) => lockCall(r, false),
  ...onFile,
  async handler(ctx, a) {
    if (ctx.server.monitor.inGrace()) return { cookie: a.cookie, stat: nlm4_stats.NLM4_DENIED_GRACE_PERIOD };
    const range = await rangeOfFile(ctx, a);
    if (!range) return { cookie: a.cookie, stat: nlm4_stats.NLM4_FBIG };
    const h = ctx.server.locks.test(fileKey(ctx, a.fh), ownerOf(a.lock), a.exclusive, range.start, range.end);
    if (!h) return { cookie: a.cookie, stat: nlm4_stats.NLM4_GRANTED };
    return { cookie: a.cookie, stat: nlm4_stats.NLM4_DENIED, holder: { exclusive: h.exclusive, svid: h.svid, oh: h.oh, offset: h.start, len: lenOf(h) } };
  },
  encode(w, res) {
    w.opaque(res.cookie).u32(res.stat);
    if (res.stat === nlm4_stats.NLM4_DENIED && res.holder) encodeHolder(w, res.holder);
  },
};

const nlmLock: ProcEntry<LockCall & { reclaim: boolean; state: number }, Res> = {
  name: 'NLMPROC4_LOCK',
  flags: 0,
  decode(r) {
    const a = lockCall(r, true);
    return { ...a, reclaim: r.bool(), state: r.i32() };
  },
  ...onFile,
  async handler(ctx, a) {
    // After a restart, until the grace period ends, only the locks held before come back.
    if (!a.reclaim && ctx.server.monitor.inGrace()) return { cookie: a.cookie, stat: nlm4_stats.NLM4_DENIED_GRACE_PERIOD };
    const range = await rangeOfFile(ctx, a);
    if (!range) return { cookie: a.cookie, stat: nlm4_stats.NLM4_FBIG };
    const file = fileKey(ctx, a.fh);
    const owner = ownerOf(a.lock);
    // A host that gets the lock now, or may get it later (blocked), is
    // remembered on disk before it holds anything, so a restart can tell it.
    if (a.block || !ctx.server.locks.test(file, owner, a.exclusive, range.start, range.end)) {
      if (!(await ctx.server.monitor.note(a.lock.callerName, ctx.client.address, ctx.client.local ?? ''))) {
        ctx.server.log.warn({ client: ctx.client.address, host: a.lock.callerName }, 'NLM lock refused: its holder cannot be recorded on disk, so a restart could not tell it');
        return { cookie: a.cookie, stat: nlm4_stats.NLM4_DENIED_NOLOCKS };
      }
    }
    const got = ctx.server.locks.lock(file, owner, a.exclusive, range.start, range.end);
    if (got === 'granted') {
      // Got it by asking again: no callback is due any more, and one in flight may not take it back.
      ctx.server.blocked.cancel({ file, owner, exclusive: a.exclusive, ...range });
      ctx.server.blocked.confirm(file, owner);
      return { cookie: a.cookie, stat: nlm4_stats.NLM4_GRANTED };
    }
    if (got === 'full') {
      ctx.server.log.warn({ client: ctx.client.address, host: a.lock.callerName, locks: ctx.server.locks.size }, 'NLM lock refused: the lock table is full');
      return { cookie: a.cookie, stat: nlm4_stats.NLM4_DENIED_NOLOCKS };
    }
    if (!a.block) return { cookie: a.cookie, stat: nlm4_stats.NLM4_DENIED };
    ctx.server.blocked.add({ file, owner, exclusive: a.exclusive, ...range, cookie: a.cookie, lock: a.lock, address: ctx.client.address });
    return { cookie: a.cookie, stat: nlm4_stats.NLM4_BLOCKED };
  },
  encode: encodeRes,
};

const nlmCancel: ProcEntry<LockCall, Res> = {
  name: 'NLMPROC4_CANCEL',
  flags: 0,
  decode: (r) => lockCall(r, true),
  ...onFile,
  async handler(ctx, a) {
    const range = rangeOf(a.lock.offset, a.lock.len);
    if (range) ctx.server.blocked.cancel({ file: fileKey(ctx, a.fh), owner: ownerOf(a.lock), exclusive: a.exclusive, ...range });
    return { cookie: a.cookie, stat: nlm4_stats.NLM4_GRANTED };
  },
  encode: encodeRes,
};

const nlmUnlock: ProcEntry<{ cookie: Buffer; lock: Nlm4Lock; fh: FileHandleArg }, Res> = {
  name: 'NLMPROC4_UNLOCK',
  flags: 0,
  decode(r) {
    const c = cookie(r);
    const lock = decodeLock(r);
    return { cookie: c, lock, fh: new FileHandleArg(lock.fh) };
  },
  ...onFile,
  async handler(ctx, a) {
    const range = rangeOf(a.lock.offset, a.lock.len);
    if (!range) return { cookie: a.cookie, stat: nlm4_stats.NLM4_FBIG };
    // No existence check: the locks of a file removed meanwhile still go.
    const file = fileKey(ctx, a.fh);
    ctx.server.locks.unlock(file, ownerOf(a.lock), range.start, range.end);
    ctx.server.blocked.wake(ctx.server.locks, file);
    return { cookie: a.cookie, stat: nlm4_stats.NLM4_GRANTED };
  },
  encode: encodeRes,
};

/** FREE_ALL (a client rebooted, told by its statd): drops every lock of that host. No reply body. */
const nlmFreeAll: ProcEntry<{ name: string; state: number }, void> = {
  name: 'NLMPROC4_FREE_ALL',
  flags: 0,
  decode: (r) => ({ name: r.string(LM_MAXNAMELEN), state: r.i32() }),
  async handler(ctx, a) {
    const n = await dropHost(ctx.server, a.name);
    ctx.server.log.info({ client: ctx.client.address, host: a.name, dropped: n }, 'NLM FREE_ALL: locks of a host dropped');
  },
  encode: () => undefined,
};

const NLM4_PROCEDURES: ProcEntry[] = [];
NLM4_PROCEDURES[0] = nlmNull;
NLM4_PROCEDURES[1] = nlmTest;
NLM4_PROCEDURES[2] = nlmLock;
NLM4_PROCEDURES[3] = nlmCancel;
NLM4_PROCEDURES[4] = nlmUnlock;
NLM4_PROCEDURES[23] = nlmFreeAll;

export const nlm4Program: Program = {
  name: 'nlockmgr',
  prog: NLM_PROGRAM,
  versions: new Map([[NLM_V4, NLM4_PROCEDURES]]),
};
