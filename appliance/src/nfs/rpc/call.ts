/**
 * Outgoing ONC RPC calls over TCP (RFC 5531 §9), one call per connection:
 * what the server itself asks of others — rpcbind's SET/UNSET/GETPORT
 * (portmap.ts) and the NSM SM_NOTIFY it sends its lock clients after a
 * restart (nlm4/monitor.ts). AUTH_SYS as root, as rpcbind wants for SET.
 */
import { connect } from 'node:net';
import { randomInt } from 'node:crypto';
import { XdrReader } from '../xdr/reader.js';
import { XdrWriter } from '../xdr/writer.js';
import { RecordDecoder, recordHeader } from './record.js';

export interface CallTarget {
  host: string;
  port: number;
  /** Give up after this long (default 2000 ms). */
  timeoutMs?: number;
}

/**
 * Sends one call and resolves to the reader positioned at its results when
 * it was accepted with SUCCESS; undefined when nothing answered in time,
 * the connection failed, or the call was refused.
 */
export function rpcCall(to: CallTarget, prog: number, vers: number, proc: number, args: Buffer): Promise<XdrReader | undefined> {
  const xid = randomInt(1, 0x7fffffff);
  const w = new XdrWriter();
  w.u32(xid).u32(0).u32(2).u32(prog).u32(vers).u32(proc);
  const cred = new XdrWriter().u32(0).string('cairn').u32(0).u32(0).u32(0).toBuffer();
  w.u32(1).opaque(cred).u32(0).u32(0);
  w.raw(args);
  const body = w.toBuffer();
  return new Promise((resolve) => {
    const sock = connect({ host: to.host, port: to.port });
    const done = (v: XdrReader | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), to.timeoutMs ?? 2000);
    const dec = new RecordDecoder(64 * 1024, (rec) => {
      try {
        const r = new XdrReader(rec);
        // xid, REPLY, MSG_ACCEPTED, verifier, SUCCESS.
        if (r.u32() !== xid || r.u32() !== 1 || r.u32() !== 0) return done(undefined);
        r.u32();
        r.opaque(400);
        done(r.u32() === 0 ? r : undefined);
      } catch {
        done(undefined);
      }
    });
    sock.on('connect', () => sock.write(Buffer.concat([recordHeader(body.length), body])));
    sock.on('data', (d) => {
      try {
        dec.push(d);
      } catch {
        done(undefined);
      }
    });
    sock.on('error', () => done(undefined));
  });
}
