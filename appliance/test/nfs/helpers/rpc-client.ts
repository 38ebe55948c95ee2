/**
 * A tiny ONC RPC client for raw-socket tests: sends calls (or any bytes),
 * matches replies by xid, and parses the reply header — so tests can
 * provoke what real clients never send.
 */
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { RecordDecoder } from '../../../src/nfs/rpc/record.js';
import { XdrReader } from '../../../src/nfs/xdr/reader.js';
import { XdrWriter } from '../../../src/nfs/xdr/writer.js';

export interface Reply {
  xid: number;
  accepted: boolean;
  /** accept_stat when accepted. */
  acceptStat?: number;
  /** reject_stat when denied. */
  rejectStat?: number;
  authStat?: number;
  low?: number;
  high?: number;
  /** Positioned at the results (SUCCESS) . */
  body: XdrReader;
  raw: Buffer;
}

export type Cred = { flavor: 'none' } | { flavor: 'sys'; uid: number; gid: number; gids?: number[] } | { flavor: number; body: Buffer };

export interface CallOptions {
  xid?: number;
  cred?: Cred;
  rpcvers?: number;
  verfFlavor?: number;
  /** How long to wait for the reply (default 5000 ms). */
  timeoutMs?: number;
}

let nextXid = 1000;

export function parseReply(rec: Buffer): Reply {
  const r = new XdrReader(rec);
  const xid = r.u32();
  if (r.u32() !== 1) throw new Error('not a REPLY');
  const stat = r.u32();
  if (stat === 0) {
    r.u32();
    r.opaque(400);
    const acceptStat = r.u32();
    const rep: Reply = { xid, accepted: true, acceptStat, body: r, raw: rec };
    if (acceptStat === 2) {
      rep.low = r.u32();
      rep.high = r.u32();
    }
    return rep;
  }
  const rejectStat = r.u32();
  const rep: Reply = { xid, accepted: false, rejectStat, body: r, raw: rec };
  if (rejectStat === 0) {
    rep.low = r.u32();
    rep.high = r.u32();
  } else rep.authStat = r.u32();
  return rep;
}

export function encodeCall(prog: number, vers: number, proc: number, args: Buffer, opts: CallOptions = {}): { xid: number; body: Buffer } {
  const xid = opts.xid ?? nextXid++;
  const w = new XdrWriter();
  w.u32(xid).u32(0).u32(opts.rpcvers ?? 2).u32(prog).u32(vers).u32(proc);
  const cred = opts.cred ?? { flavor: 'sys', uid: 0, gid: 0 };
  if (cred.flavor === 'none') w.u32(0).u32(0);
  else if (cred.flavor === 'sys') {
    const c = new XdrWriter().u32(1).string('test').u32(cred.uid).u32(cred.gid);
    const gids = cred.gids ?? [];
    c.u32(gids.length);
    for (const g of gids) c.u32(g);
    w.u32(1).opaque(c.toBuffer());
  } else w.u32(cred.flavor).opaque(cred.body);
  w.u32(opts.verfFlavor ?? 0).u32(0);
  return { xid, body: Buffer.concat([w.toBuffer(), args]) };
}

export function frame(body: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE((0x80000000 | body.length) >>> 0);
  return Buffer.concat([h, body]);
}

export class RpcClient {
  private readonly waiting = new Map<number, (r: Reply) => void>();
  readonly order: number[] = [];
  readonly closed: Promise<unknown>;

  private constructor(readonly sock: Socket) {
    const dec = new RecordDecoder(64 * 1024 * 1024, (rec) => {
      const rep = parseReply(rec);
      this.order.push(rep.xid);
      const w = this.waiting.get(rep.xid);
      if (w) {
        this.waiting.delete(rep.xid);
        w(rep);
      }
    });
    sock.on('data', (d: Buffer) => dec.push(d));
    sock.on('error', () => undefined);
    this.closed = once(sock, 'close');
  }

  static async connect(port: number, localPort?: number, host = '127.0.0.1'): Promise<RpcClient> {
    const sock = connect({ host, port, localPort });
    await once(sock, 'connect');
    sock.setNoDelay(true);
    return new RpcClient(sock);
  }

  /** Resolves with the reply to `xid` (rejects after `timeoutMs`). */
  reply(xid: number, timeoutMs = 5000): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no reply to xid ${xid} in ${timeoutMs} ms`)), timeoutMs);
      this.waiting.set(xid, (r) => {
        clearTimeout(t);
        resolve(r);
      });
    });
  }

  write(bytes: Buffer): void {
    this.sock.write(bytes);
  }

  call(prog: number, vers: number, proc: number, args: Buffer = Buffer.alloc(0), opts: CallOptions = {}): Promise<Reply> {
    const { xid, body } = encodeCall(prog, vers, proc, args, opts);
    const p = this.reply(xid, opts.timeoutMs);
    this.write(frame(body));
    return p;
  }

  /** An NFSv3 call that must be accepted; returns the results reader. */
  async nfs(proc: number, args: XdrWriter | Buffer, opts: CallOptions = {}): Promise<XdrReader> {
    const rep = await this.call(100003, 3, proc, Buffer.isBuffer(args) ? args : args.toBuffer(), opts);
    if (!rep.accepted || rep.acceptStat !== 0) throw new Error(`NFS call ${proc} not accepted: ${JSON.stringify({ ...rep, body: undefined, raw: undefined })}`);
    return rep.body;
  }

  async mount(path: string, opts: CallOptions = {}): Promise<{ status: number; fh?: Buffer }> {
    const rep = await this.call(100005, 3, 1, new XdrWriter().string(path).toBuffer(), opts);
    const status = rep.body.u32();
    return status === 0 ? { status, fh: Buffer.from(rep.body.opaque(64)) } : { status };
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Skips a post_op_attr; returns the fattr3 fields we test, if present. */
export function readPostOpAttr(r: XdrReader): { type: number; mode: number; nlink: number; uid: number; gid: number; size: bigint; fileid: bigint } | undefined {
  if (!r.bool()) return undefined;
  const type = r.u32();
  const mode = r.u32();
  const nlink = r.u32();
  const uid = r.u32();
  const gid = r.u32();
  const size = r.u64();
  r.u64();
  r.u32();
  r.u32();
  r.u64();
  const fileid = r.u64();
  for (let i = 0; i < 6; i++) r.u32();
  return { type, mode, nlink, uid, gid, size, fileid };
}

/** Skips wcc_data; returns whether before/after were present. */
export function readWcc(r: XdrReader): { before: boolean; after: boolean } {
  const before = r.bool();
  if (before) {
    r.u64();
    r.u64();
    r.u64();
  }
  const after = readPostOpAttr(r) !== undefined;
  return { before, after };
}

export function dirop(fh: Buffer, name: string): XdrWriter {
  return new XdrWriter().opaque(fh).string(name);
}

/** An empty sattr3 (nothing set). */
export function sattr(w: XdrWriter, mode?: number): XdrWriter {
  if (mode !== undefined) w.bool(true).u32(mode);
  else w.bool(false);
  return w.bool(false).bool(false).bool(false).u32(0).u32(0);
}
