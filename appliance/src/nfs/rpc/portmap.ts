/**
 * Registration with the system portmapper / rpcbind (RFC 1833 §3, version 2
 * of the PMAP protocol, which every rpcbind also speaks):
 *
 *   struct mapping { unsigned int prog; unsigned int vers; unsigned int prot; unsigned int port; };
 *   bool PMAPPROC_SET(mapping)   = 1;
 *   bool PMAPPROC_UNSET(mapping) = 2;
 *
 * Sent over TCP to 127.0.0.1:111 with AUTH_SYS uid 0 (rpcbind only accepts
 * SET from local privileged callers). Best effort: when nothing answers,
 * the server runs without registration (clients then need explicit ports).
 */
import { connect } from 'node:net';
import { randomInt } from 'node:crypto';
import { XdrReader } from '../xdr/reader.js';
import { XdrWriter } from '../xdr/writer.js';
import { RecordDecoder, recordHeader } from './record.js';

export const PMAP_PROGRAM = 100000;
export const PMAP_V2 = 2;
export const PMAPPROC_SET = 1;
export const PMAPPROC_UNSET = 2;
export const IPPROTO_TCP = 6;

export interface Mapping {
  prog: number;
  vers: number;
  port: number;
}

/** Sends one PMAP call; resolves to its boolean result, or undefined when no portmapper answers. */
export function pmapCall(proc: number, m: Mapping, opts: { host?: string; port?: number; timeoutMs?: number } = {}): Promise<boolean | undefined> {
  const xid = randomInt(1, 0x7fffffff);
  const w = new XdrWriter();
  w.u32(xid).u32(0).u32(2).u32(PMAP_PROGRAM).u32(PMAP_V2).u32(proc);
  const cred = new XdrWriter().u32(0).string('cairn').u32(0).u32(0).u32(0).toBuffer();
  w.u32(1).opaque(cred).u32(0).u32(0);
  w.u32(m.prog).u32(m.vers).u32(IPPROTO_TCP).u32(proc === PMAPPROC_UNSET ? 0 : m.port);
  const body = w.toBuffer();
  return new Promise((resolve) => {
    const sock = connect({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 111 });
    const done = (v: boolean | undefined) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(undefined), opts.timeoutMs ?? 2000);
    const dec = new RecordDecoder(4096, (rec) => {
      try {
        const r = new XdrReader(rec);
        if (r.u32() !== xid || r.u32() !== 1 || r.u32() !== 0) return done(false);
        r.u32();
        r.opaque(400);
        if (r.u32() !== 0) return done(false);
        done(r.u32() === 1);
      } catch {
        done(false);
      }
    });
    sock.on('connect', () => sock.write(Buffer.concat([recordHeader(body.length), body])));
    sock.on('data', (d) => {
      try {
        dec.push(d);
      } catch {
        done(false);
      }
    });
    sock.on('error', () => done(undefined));
  });
}
