/**
 * Registration with the system portmapper / rpcbind (RFC 1833 §3, version 2
 * of the PMAP protocol, which every rpcbind also speaks):
 *
 *   struct mapping { unsigned int prog; unsigned int vers; unsigned int prot; unsigned int port; };
 *   bool PMAPPROC_SET(mapping)   = 1;
 *   bool PMAPPROC_UNSET(mapping) = 2;
 *   unsigned int PMAPPROC_GETPORT(mapping) = 3;
 *
 * SET and UNSET go over TCP to 127.0.0.1:111 with AUTH_SYS uid 0 (rpcbind
 * only accepts SET from local privileged callers). Best effort: when
 * nothing answers, the server runs without registration (clients then
 * need explicit ports). GETPORT asks a lock client's portmapper where its
 * statd listens (nlm4/monitor.ts).
 */
import { XdrWriter } from '../xdr/writer.js';
import { rpcCall } from './call.js';

export const PMAP_PROGRAM = 100000;
export const PMAP_V2 = 2;
export const PMAPPROC_SET = 1;
export const PMAPPROC_UNSET = 2;
export const PMAPPROC_GETPORT = 3;
export const IPPROTO_TCP = 6;

export interface Mapping {
  prog: number;
  vers: number;
  port: number;
}

/** Sends one PMAP SET or UNSET; resolves to its boolean result, or undefined when no portmapper answers. */
export async function pmapCall(proc: number, m: Mapping, opts: { host?: string; port?: number; timeoutMs?: number } = {}): Promise<boolean | undefined> {
  const args = new XdrWriter().u32(m.prog).u32(m.vers).u32(IPPROTO_TCP).u32(proc === PMAPPROC_UNSET ? 0 : m.port).toBuffer();
  const r = await rpcCall({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 111, timeoutMs: opts.timeoutMs }, PMAP_PROGRAM, PMAP_V2, proc, args);
  if (!r) return undefined;
  try {
    return r.u32() === 1;
  } catch {
    return false;
  }
}

/** The TCP port `host`'s portmapper has for (prog, vers); undefined when it has none or does not answer. */
export async function pmapGetPort(host: string, prog: number, vers: number, opts: { port?: number; timeoutMs?: number } = {}): Promise<number | undefined> {
  const args = new XdrWriter().u32(prog).u32(vers).u32(IPPROTO_TCP).u32(0).toBuffer();
  const r = await rpcCall({ host, port: opts.port ?? 111, timeoutMs: opts.timeoutMs }, PMAP_PROGRAM, PMAP_V2, PMAPPROC_GETPORT, args);
  try {
    const port = r?.u32();
    return port ? port : undefined;
  } catch {
    return undefined;
  }
}
