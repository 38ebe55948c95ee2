/**
 * NFSPROC3_READDIR (RFC 1813 §3.3.16)
 *
 *   struct READDIR3args { nfs_fh3 dir; cookie3 cookie; cookieverf3 cookieverf; count3 count; };
 *   struct entry3 { fileid3 fileid; filename3 name; cookie3 cookie; entry3 *nextentry; };
 *   struct dirlist3 { entry3 *entries; bool eof; };
 *   struct READDIR3resok { post_op_attr dir_attributes; cookieverf3 cookieverf; dirlist3 reply; };
 *   struct READDIR3resfail { post_op_attr dir_attributes; };
 *
 * `count` bounds the whole READDIR3resok; entries that do not fit are left
 * for the next call, which resumes from the last cookie sent. Cookies are
 * the backend's, stable across calls (backend.ts readdir).
 */
import type { Attrs, DirEntry } from '../backend/backend.js';
import type { FileHandleArg, ProcEntry } from '../rpc/program.js';
import { pad4 } from '../xdr/reader.js';
import { attrsOrNone, decodeFh, encodePostOpAttr, nfsstat3, NFS3_COOKIEVERFSIZE, statusOf } from './types.js';

interface Args {
  dir: FileHandleArg;
  cookie: bigint;
  verf: Buffer;
  count: number;
}
export interface ReaddirRes {
  status: nfsstat3;
  /** The whole READDIR3res from the backend's fast path (Backend.readdirXdr). */
  xdr?: Buffer;
  dirAttrs?: Attrs;
  verf?: Buffer;
  entries?: DirEntry[];
  eof?: boolean;
}

/** status + post_op_attr + cookieverf + end of list + eof. */
export const READDIR_OVERHEAD = 4 + 4 + 84 + 8 + 4 + 4;
/** Most entries asked of a backend in one call. */
export const MAX_ENTRIES_PER_CALL = 4096;

export function entry3Size(name: string | Buffer): number {
  const n = Buffer.byteLength(name);
  return 4 + 8 + 4 + n + pad4(n) + 8;
}

export const readdir: ProcEntry<Args, ReaddirRes> = {
  name: 'NFSPROC3_READDIR',
  flags: 0,
  decode: (r) => ({ dir: decodeFh(r), cookie: r.u64(), verf: Buffer.from(r.fixedOpaque(NFS3_COOKIEVERFSIZE)), count: r.u32() }),
  handles: (a) => [a.dir],
  async handler(ctx, a) {
    try {
      if (ctx.backend.readdirXdr) {
        const args = { cookie: a.cookie, verifier: a.verf, dircount: 0, maxcount: a.count, plus: false };
        const xdr = await ctx.backend.readdirXdr(ctx.cred, a.dir.backend, args, ctx.server.codec.wireKey(ctx.export!.id));
        if (xdr) return { status: xdr.readUInt32BE(0), xdr };
      }
      const room = a.count - READDIR_OVERHEAD;
      if (room < entry3Size('x')) return { status: nfsstat3.NFS3ERR_TOOSMALL, dirAttrs: await attrsOrNone(ctx, a.dir.backend) };
      const want = Math.min(MAX_ENTRIES_PER_CALL, Math.floor(room / 24));
      const res = await ctx.backend.readdir(ctx.cred, a.dir.backend, a.cookie, a.verf, want, false);
      const entries: DirEntry[] = [];
      let used = 0;
      for (const e of res.entries) {
        const size = entry3Size(e.nameBytes ?? e.name);
        if (used + size > room) break;
        used += size;
        entries.push(e);
      }
      if (entries.length === 0 && res.entries.length > 0) return { status: nfsstat3.NFS3ERR_TOOSMALL, dirAttrs: res.dirAttrs };
      const eof = res.eof && entries.length === res.entries.length;
      return { status: nfsstat3.NFS3_OK, dirAttrs: res.dirAttrs, verf: res.verifier, entries, eof };
    } catch (e) {
      return { status: statusOf(ctx, e, this.name), dirAttrs: await attrsOrNone(ctx, a.dir.backend) };
    }
  },
  fail: (status) => ({ status }),
  encode(w, res) {
    if (res.xdr) {
      w.raw(res.xdr);
      return;
    }
    w.u32(res.status);
    encodePostOpAttr(w, res.dirAttrs);
    if (res.status !== nfsstat3.NFS3_OK) return;
    w.fixedOpaque(res.verf!);
    for (const e of res.entries!) {
      w.bool(true).u64(e.fileid).string(e.nameBytes ?? e.name).u64(e.cookie);
    }
    w.bool(false).bool(res.eof!);
  },
};
