/**
 * NLM v4 wire types (RFC 1813 appendix II; the Open Group XNFS "Network
 * Lock Manager" for the procedures' meaning):
 *
 *   typedef opaque netobj<MAXNETOBJ_SZ>;          // MAXNETOBJ_SZ = 1024
 *   struct nlm4_holder { bool exclusive; int32 svid; netobj oh; uint64 l_offset; uint64 l_len; };
 *   struct nlm4_lock   { string caller_name<LM_MAXSTRLEN>; netobj fh; netobj oh;
 *                        int32 svid; uint64 l_offset; uint64 l_len; };
 *   struct nlm4_lockargs   { netobj cookie; bool block; bool exclusive; nlm4_lock alock;
 *                            bool reclaim; int32 state; };
 *   struct nlm4_cancargs   { netobj cookie; bool block; bool exclusive; nlm4_lock alock; };
 *   struct nlm4_testargs   { netobj cookie; bool exclusive; nlm4_lock alock; };
 *   struct nlm4_unlockargs { netobj cookie; nlm4_lock alock; };
 *   struct nlm4_res        { netobj cookie; nlm4_stats stat; };
 *   union nlm4_testrply switch (nlm4_stats stat) { case NLM4_DENIED: nlm4_holder holder; default: void; };
 *   struct nlm4_testres    { netobj cookie; nlm4_testrply test_stat; };
 *   struct nlm4_notify     { string name<LM_MAXNAMELEN>; int32 state; };   // FREE_ALL
 *
 * l_len 0 means "to the end of the file, and beyond".
 */
import type { XdrReader } from '../xdr/reader.js';
import type { XdrWriter } from '../xdr/writer.js';

export const NLM_PROGRAM = 100021;
export const NLM_V4 = 4;
export const MAXNETOBJ_SZ = 1024;
export const LM_MAXSTRLEN = 1024;
export const LM_MAXNAMELEN = 1025;

export const enum nlm4_stats {
  NLM4_GRANTED = 0,
  NLM4_DENIED = 1,
  NLM4_DENIED_NOLOCKS = 2,
  NLM4_BLOCKED = 3,
  NLM4_DENIED_GRACE_PERIOD = 4,
  NLM4_DEADLCK = 5,
  NLM4_ROFS = 6,
  NLM4_STALE_FH = 7,
  NLM4_FBIG = 8,
  NLM4_FAILED = 9,
}

export interface Nlm4Lock {
  /** The client's host name: whose locks FREE_ALL and SM_NOTIFY drop. */
  callerName: string;
  fh: Buffer;
  /** Owner handle: with svid, names the lock owner on that host. */
  oh: Buffer;
  svid: number;
  offset: bigint;
  len: bigint;
}

export interface Nlm4Holder {
  exclusive: boolean;
  svid: number;
  oh: Buffer;
  offset: bigint;
  len: bigint;
}

export function decodeLock(r: XdrReader): Nlm4Lock {
  return {
    callerName: r.string(LM_MAXSTRLEN),
    fh: Buffer.from(r.opaque(MAXNETOBJ_SZ)),
    oh: Buffer.from(r.opaque(MAXNETOBJ_SZ)),
    svid: r.i32(),
    offset: r.u64(),
    len: r.u64(),
  };
}

export function encodeLock(w: XdrWriter, l: Nlm4Lock): XdrWriter {
  return w.string(l.callerName).opaque(l.fh).opaque(l.oh).i32(l.svid).u64(l.offset).u64(l.len);
}

export function cookie(r: XdrReader): Buffer {
  return Buffer.from(r.opaque(MAXNETOBJ_SZ));
}

/** nlm4_res: the cookie echoed and a status. */
export function encodeRes(w: XdrWriter, res: { cookie: Buffer; stat: nlm4_stats }): void {
  w.opaque(res.cookie).u32(res.stat);
}

export function encodeHolder(w: XdrWriter, h: Nlm4Holder): void {
  w.bool(h.exclusive).i32(h.svid).opaque(h.oh).u64(h.offset).u64(h.len);
}
