/**
 * NFSPROC3_READDIRPLUS (RFC 1813 §3.3.17)
 *
 *   struct READDIRPLUS3args { nfs_fh3 dir; cookie3 cookie; cookieverf3 cookieverf;
 *                             count3 dircount; count3 maxcount; };
 *   struct entryplus3 { fileid3 fileid; filename3 name; cookie3 cookie;
 *                       post_op_attr name_attributes; post_op_fh3 name_handle;
 *                       entryplus3 *nextentry; };
 *   struct dirlistplus3 { entryplus3 *entries; bool eof; };
 *   struct READDIRPLUS3resok { post_op_attr dir_attributes; cookieverf3 cookieverf; dirlistplus3 reply; };
 *   struct READDIRPLUS3resfail { post_op_attr dir_attributes; };
 *
 * `maxcount` bounds the whole reply; `dircount` bounds the directory part
 * alone (fileid, name and cookie of each entry, as knfsd counts it).
 */
import type { Attrs, DirEntry } from '../backend/backend.js';
import { FH_HEADER } from '../backend/filehandle.js';
import type { FileHandleArg, ProcEntry } from '../rpc/program.js';
import { pad4 } from '../xdr/reader.js';
import { entry3Size, MAX_ENTRIES_PER_CALL, READDIR_OVERHEAD } from './readdir.js';
import { attrsOrNone, decodeFh, encodePostOpAttr, encodePostOpFh, nfsstat3, NFS3_COOKIEVERFSIZE, statusOf, wireHandle } from './types.js';

interface Args {
  dir: FileHandleArg;
  cookie: bigint;
  verf: Buffer;
  dircount: number;
  maxcount: number;
}
interface PlusEntry {
  fileid: bigint;
  name: string | Buffer;
  cookie: bigint;
  attrs?: Attrs;
  handle?: Buffer;
}
interface Res {
  status: nfsstat3;
  /** The whole READDIRPLUS3res from the backend's fast path (Backend.readdirXdr). */
  xdr?: Buffer;
  dirAttrs?: Attrs;
  verf?: Buffer;
  entries?: PlusEntry[];
  eof?: boolean;
}

function plusSize(e: DirEntry): number {
  const fh = e.handle ? 4 + FH_HEADER + e.handle.length + pad4(FH_HEADER + e.handle.length) : 0;
  return entry3Size(e.nameBytes ?? e.name) + 4 + (e.attrs ? 84 : 0) + 4 + fh;
}

export const readdirplus: ProcEntry<Args, Res> = {
  name: 'NFSPROC3_READDIRPLUS',
  flags: 0,
  decode: (r) => ({
    dir: decodeFh(r),
    cookie: r.u64(),
    verf: Buffer.from(r.fixedOpaque(NFS3_COOKIEVERFSIZE)),
    dircount: r.u32(),
    maxcount: r.u32(),
  }),
  handles: (a) => [a.dir],
  async handler(ctx, a) {
    try {
      if (ctx.backend.readdirXdr) {
        const args = { cookie: a.cookie, verifier: a.verf, dircount: a.dircount, maxcount: a.maxcount, plus: true };
        const xdr = await ctx.backend.readdirXdr(ctx.cred, a.dir.backend, args, ctx.server.codec.wireKey(ctx.export!.id));
        if (xdr) return { status: xdr.readUInt32BE(0), xdr };
      }
      const room = a.maxcount - READDIR_OVERHEAD;
      const dirRoom = a.dircount > 0 ? a.dircount : room;
      if (room < 200) return { status: nfsstat3.NFS3ERR_TOOSMALL, dirAttrs: await attrsOrNone(ctx, a.dir.backend) };
      // Ask the backend for about as many entries as fit: each one it makes
      // and we cannot send is work thrown away (attributes, handle).
      const fhLen = FH_HEADER + a.dir.backend.length;
      const estimate = entry3Size('typical-name') + 4 + 84 + 4 + 4 + fhLen + pad4(fhLen);
      const want = Math.max(1, Math.min(MAX_ENTRIES_PER_CALL, Math.floor(room / estimate), Math.floor(dirRoom / 24)));
      const res = await ctx.backend.readdir(ctx.cred, a.dir.backend, a.cookie, a.verf, want, true);
      const entries: PlusEntry[] = [];
      let used = 0;
      let dirUsed = 0;
      for (const e of res.entries) {
        const size = plusSize(e);
        const dsize = entry3Size(e.nameBytes ?? e.name);
        if (used + size > room || (entries.length > 0 && dirUsed + dsize > dirRoom)) break;
        used += size;
        dirUsed += dsize;
        entries.push({ fileid: e.fileid, name: e.nameBytes ?? e.name, cookie: e.cookie, attrs: e.attrs, handle: e.handle && wireHandle(ctx, e.handle) });
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
      w.bool(true).u64(e.fileid).string(e.name).u64(e.cookie);
      encodePostOpAttr(w, e.attrs);
      encodePostOpFh(w, e.handle);
    }
    w.bool(false).bool(res.eof!);
  },
};
