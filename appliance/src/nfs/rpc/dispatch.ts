/**
 * The dispatcher: one RPC record in, one reply (or none) out. Everything
 * common to all procedures happens here, once, from the table entry's
 * flags (STYLE.md point 1):
 *   - RPC errors (RFC 5531 §9): RPC_MISMATCH, PROG_UNAVAIL, PROG_MISMATCH
 *     (with the lowest and highest version), PROC_UNAVAIL, GARBAGE_ARGS,
 *     AUTH_ERROR;
 *   - the duplicate request cache for CAN_BE_DUP procedures;
 *   - file handle checks (BADHANDLE, STALE), export access (ACCES),
 *     read-only exports for MAKES_WRITE procedures (ROFS), squashing;
 *   - errors thrown by handlers become the procedure's resfail via toNfsStat.
 */
import { toNfsStat, nfsstat3 } from '../backend/errors.js';
import type { Backend } from '../backend/backend.js';
import { squash, type Client, type Export } from '../exports.js';
import { XdrDecodeError } from '../xdr/reader.js';
import { type Chunk, XdrWriter } from '../xdr/writer.js';
import { parseCred, type Identity } from './auth.js';
import { DuplicateRequestCache } from './drc.js';
import { accept_stat, decodeCall, encodeAccepted, encodeAuthError, encodeProgMismatch, type RpcCall } from './message.js';
import { CAN_BE_DUP, MAKES_WRITE, type CallContext, type ProcEntry, type Program, type ReplyBuffers, type ServerState } from './program.js';
import { recordHeader } from './record.js';

const NO_BACKEND = new Proxy({} as Backend, {
  get() {
    throw new Error('procedure without a file handle has no backend');
  },
});

export interface DispatchStats {
  calls: number;
  garbage: number;
  drcHits: number;
}

export class Dispatcher {
  private readonly programs = new Map<number, Program>();
  readonly drc = new DuplicateRequestCache();
  readonly stats: DispatchStats = { calls: 0, garbage: 0, drcHits: 0 };

  constructor(
    programs: Program[],
    private readonly state: ServerState,
  ) {
    for (const p of programs) this.programs.set(p.prog, p);
  }

  /**
   * Handles one record. Resolves to the reply as buffers to write in order
   * (record marking header included), or undefined when nothing is to be
   * sent (not a call). `buffers` lends the call pooled reply buffers: the
   * caller must keep them untouched until the reply has been written.
   */
  async handle(record: Buffer, client: Client, buffers?: ReplyBuffers): Promise<Chunk[] | undefined> {
    const head = decodeCall(record);
    if (head.kind === 'ignore') {
      this.stats.garbage++;
      this.state.log.debug({ client: client.address, reason: head.reason }, 'RPC record dropped');
      return undefined;
    }
    if (head.kind === 'reject') {
      this.stats.garbage++;
      this.state.log.debug({ client: client.address, xid: head.xid, reason: head.reason }, 'RPC call refused');
      return frame((w) => head.reply(w));
    }
    const call = head.call;
    this.stats.calls++;
    const program = this.programs.get(call.prog);
    if (!program) return frame((w) => encodeAccepted(w, call.xid, accept_stat.PROG_UNAVAIL));
    const table = program.versions.get(call.vers);
    if (!table) {
      const vs = [...program.versions.keys()];
      return frame((w) => encodeProgMismatch(w, call.xid, Math.min(...vs), Math.max(...vs)));
    }
    const entry = table[call.proc];
    if (!entry) return frame((w) => encodeAccepted(w, call.xid, accept_stat.PROC_UNAVAIL));
    const identity = parseCred(call.cred, call.verf);
    if (typeof identity === 'number') return frame((w) => encodeAuthError(w, call.xid, identity));

    if (!(entry.flags & CAN_BE_DUP)) return this.run(call, entry, identity, client, buffers);
    const argBytes = call.args.buf.subarray(call.args.offset);
    const key = DuplicateRequestCache.key(client.address, call.xid, call.prog, call.vers, call.proc, argBytes);
    const earlier = this.drc.lookup(key);
    if (earlier) {
      this.stats.drcHits++;
      this.state.log.debug({ client: client.address, xid: call.xid, proc: entry.name }, 'retransmission answered from the duplicate request cache');
      return earlier;
    }
    const reply = this.run(call, entry, identity, client);
    // A call whose reply failed to encode is not cached: a retry runs again.
    this.drc.insert(key, reply.catch(() => undefined));
    return reply;
  }

  private async run(call: RpcCall, entry: ProcEntry, identity: Identity, client: Client, replyBuffers?: ReplyBuffers): Promise<Chunk[]> {
    let args: unknown;
    try {
      args = entry.decode(call.args);
    } catch (e) {
      if (!(e instanceof XdrDecodeError)) throw e;
      this.stats.garbage++;
      this.state.log.debug({ client: client.address, xid: call.xid, proc: entry.name, err: e.message }, 'GARBAGE_ARGS');
      return frame((w) => encodeAccepted(w, call.xid, accept_stat.GARBAGE_ARGS));
    }
    const ctx: CallContext = {
      xid: call.xid,
      client,
      identity,
      server: this.state,
      cred: { uid: identity.uid, gid: identity.gid, gids: identity.gids },
      backend: NO_BACKEND,
      replyBuffers,
    };
    let result: unknown;
    const refused = entry.handles ? this.admit(ctx, entry, args) : undefined;
    if (refused !== undefined) {
      result = entry.fail!(refused, args);
    } else {
      try {
        result = await entry.handler(ctx, args);
      } catch (e) {
        if (!entry.fail) throw e;
        const status = toNfsStat(e, (err) => this.state.log.warn({ err, proc: entry.name, client: client.address }, 'unmapped backend error'));
        result = entry.fail(status, args);
      }
    }
    return frame((w) => {
      encodeAccepted(w, call.xid, accept_stat.SUCCESS);
      entry.encode(w, result);
    });
  }

  /**
   * Checks every file handle argument and the export rules; fills in the
   * backend handles, export, rule and squashed credentials. Returns an
   * nfsstat3 when the call must be refused.
   */
  private admit(ctx: CallContext, entry: ProcEntry, args: unknown): number | undefined {
    let exp: Export | undefined;
    for (const fh of entry.handles!(args)) {
      let decoded;
      try {
        decoded = this.state.codec.decode(fh.raw);
      } catch {
        return nfsstat3.NFS3ERR_BADHANDLE;
      }
      const e = this.state.exports.byId.get(decoded.exportId);
      if (!e) return nfsstat3.NFS3ERR_STALE;
      // RENAME and LINK across exports (RFC 1813 §3.3.14, §3.3.15).
      if (exp && exp !== e) return nfsstat3.NFS3ERR_XDEV;
      exp = e;
      fh.backend = decoded.backend;
    }
    if (!exp) return undefined;
    const rule = exp.ruleFor(ctx.client);
    if (!rule) return nfsstat3.NFS3ERR_ACCES;
    if (entry.flags & MAKES_WRITE && rule.readOnly) return nfsstat3.NFS3ERR_ROFS;
    ctx.export = exp;
    ctx.rule = rule;
    ctx.backend = exp.backend;
    ctx.cred = squash(rule, ctx.identity);
    return undefined;
  }
}

/** Encodes a reply and prepends its record marking header. */
function frame(encode: (w: XdrWriter) => void): Chunk[] {
  const w = new XdrWriter();
  encode(w);
  const chunks = w.chunks();
  return [recordHeader(w.length), ...chunks];
}
