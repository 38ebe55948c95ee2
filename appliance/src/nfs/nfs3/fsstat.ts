/**
 * NFSPROC3_FSSTAT (RFC 1813 §3.3.18)
 *
 *   struct FSSTAT3args { nfs_fh3 fsroot; };
 *   struct FSSTAT3resok { post_op_attr obj_attributes; size3 tbytes; size3 fbytes; size3 abytes;
 *                         size3 tfiles; size3 ffiles; size3 afiles; uint32 invarsec; };
 *   struct FSSTAT3resfail { post_op_attr obj_attributes; };
 */
import type { Attrs, FsStat } from '../backend/backend.js';
import type { FileHandleArg, ProcEntry } from '../rpc/program.js';
import { attrsOrNone, decodeFh, encodePostOpAttr, nfsstat3, statusOf } from './types.js';

interface Args {
  fsroot: FileHandleArg;
}
interface Res {
  status: nfsstat3;
  attrs?: Attrs;
  stat?: FsStat;
}

export const fsstat: ProcEntry<Args, Res> = {
  name: 'NFSPROC3_FSSTAT',
  flags: 0,
  decode: (r) => ({ fsroot: decodeFh(r) }),
  handles: (a) => [a.fsroot],
  async handler(ctx, a) {
    try {
      const stat = await ctx.backend.fsstat(a.fsroot.backend);
      return { status: nfsstat3.NFS3_OK, attrs: await attrsOrNone(ctx, a.fsroot.backend), stat };
    } catch (e) {
      return { status: statusOf(ctx, e, this.name), attrs: await attrsOrNone(ctx, a.fsroot.backend) };
    }
  },
  fail: (status) => ({ status }),
  encode(w, res) {
    w.u32(res.status);
    encodePostOpAttr(w, res.attrs);
    if (res.status !== nfsstat3.NFS3_OK) return;
    const s = res.stat!;
    w.u64(s.totalBytes).u64(s.freeBytes).u64(s.availBytes).u64(s.totalFiles).u64(s.freeFiles).u64(s.availFiles);
    // invarsec: the figures can change at any time.
    w.u32(0);
  },
};
