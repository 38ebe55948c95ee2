/**
 * ONC RPC v2 messages (RFC 5531 §9): decoding calls, encoding replies.
 * Wire names follow the RFC.
 */
import { XdrReader, XdrDecodeError } from '../xdr/reader.js';
import { XdrWriter } from '../xdr/writer.js';

export const RPC_VERSION = 2;

export const enum msg_type {
  CALL = 0,
  REPLY = 1,
}
export const enum reply_stat {
  MSG_ACCEPTED = 0,
  MSG_DENIED = 1,
}
export const enum accept_stat {
  SUCCESS = 0,
  PROG_UNAVAIL = 1,
  PROG_MISMATCH = 2,
  PROC_UNAVAIL = 3,
  GARBAGE_ARGS = 4,
  SYSTEM_ERR = 5,
}
export const enum reject_stat {
  RPC_MISMATCH = 0,
  AUTH_ERROR = 1,
}
export const enum auth_stat {
  AUTH_OK = 0,
  AUTH_BADCRED = 1,
  AUTH_REJECTEDCRED = 2,
  AUTH_BADVERF = 3,
  AUTH_REJECTEDVERF = 4,
  AUTH_TOOWEAK = 5,
}
export const enum auth_flavor {
  AUTH_NONE = 0,
  AUTH_SYS = 1,
}

/** RFC 5531 §8.2: opaque_auth bodies are at most 400 bytes. */
export const MAX_AUTH_BYTES = 400;

export interface OpaqueAuth {
  flavor: number;
  body: Buffer;
}

/** A decoded call header; `args` is a reader positioned at the procedure's arguments. */
export interface RpcCall {
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  cred: OpaqueAuth;
  verf: OpaqueAuth;
  args: XdrReader;
}

export type CallHeader =
  | { kind: 'call'; call: RpcCall }
  /** Not a call (a REPLY, or too short to have an xid): dropped silently. */
  | { kind: 'ignore'; reason: string }
  /** An xid we can answer, with a denial or error to send. */
  | { kind: 'reject'; xid: number; reply: (w: XdrWriter) => void; reason: string };

/** Decodes the call header of one record (RFC 5531 §9 call_body). */
export function decodeCall(record: Buffer): CallHeader {
  const r = new XdrReader(record);
  let xid: number;
  let type: number;
  try {
    xid = r.u32();
    type = r.u32();
  } catch {
    return { kind: 'ignore', reason: 'record shorter than an RPC header' };
  }
  if (type !== msg_type.CALL) return { kind: 'ignore', reason: `message type ${type} is not CALL` };
  try {
    const rpcvers = r.u32();
    if (rpcvers !== RPC_VERSION) {
      return { kind: 'reject', xid, reply: (w) => encodeRpcMismatch(w, xid), reason: `RPC version ${rpcvers}` };
    }
    const prog = r.u32();
    const vers = r.u32();
    const proc = r.u32();
    const cred = { flavor: r.u32(), body: r.opaque(MAX_AUTH_BYTES) };
    const verf = { flavor: r.u32(), body: r.opaque(MAX_AUTH_BYTES) };
    return { kind: 'call', call: { xid, prog, vers, proc, cred, verf, args: r } };
  } catch (e) {
    if (!(e instanceof XdrDecodeError)) throw e;
    return { kind: 'reject', xid, reply: (w) => encodeAuthError(w, xid, auth_stat.AUTH_BADCRED), reason: `bad call header: ${e.message}` };
  }
}

function replyHeader(w: XdrWriter, xid: number, stat: reply_stat): void {
  w.u32(xid).u32(msg_type.REPLY).u32(stat);
}

/** MSG_ACCEPTED with a null verifier and `stat`; the caller appends results for SUCCESS. */
export function encodeAccepted(w: XdrWriter, xid: number, stat: accept_stat): void {
  replyHeader(w, xid, reply_stat.MSG_ACCEPTED);
  w.u32(auth_flavor.AUTH_NONE).u32(0).u32(stat);
}

/** PROG_MISMATCH carries the lowest and highest version supported (§9). */
export function encodeProgMismatch(w: XdrWriter, xid: number, low: number, high: number): void {
  encodeAccepted(w, xid, accept_stat.PROG_MISMATCH);
  w.u32(low).u32(high);
}

/** MSG_DENIED / RPC_MISMATCH: we speak RPC version 2 only. */
export function encodeRpcMismatch(w: XdrWriter, xid: number): void {
  replyHeader(w, xid, reply_stat.MSG_DENIED);
  w.u32(reject_stat.RPC_MISMATCH).u32(RPC_VERSION).u32(RPC_VERSION);
}

export function encodeAuthError(w: XdrWriter, xid: number, stat: auth_stat): void {
  replyHeader(w, xid, reply_stat.MSG_DENIED);
  w.u32(reject_stat.AUTH_ERROR).u32(stat);
}
