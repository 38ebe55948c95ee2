/**
 * NFSPROC3_PATHCONF (RFC 1813 §3.3.20)
 *
 *   struct PATHCONF3args { nfs_fh3 object; };
 *   struct PATHCONF3resok { post_op_attr obj_attributes; uint32 linkmax; uint32 name_max;
 *                           bool no_trunc; bool chown_restricted; bool case_insensitive; bool case_preserving; };
 *   struct PATHCONF3resfail { post_op_attr obj_attributes; };
 */
import type { Attrs, FsInfo } from '../backend/backend.js';
import type { FileHandleArg, ProcEntry } from '../rpc/program.js';
import { attrsOrNone, decodeFh, encodePostOpAttr, nfsstat3, statusOf } from './types.js';

interface Args {
  object: FileHandleArg;
}
interface Res {
  status: nfsstat3;
  attrs?: Attrs;
  info?: FsInfo;
}

export const pathconf: ProcEntry<Args, Res> = {
  name: 'NFSPROC3_PATHCONF',
  flags: 0,
  decode: (r) => ({ object: decodeFh(r) }),
  handles: (a) => [a.object],
  async handler(ctx, a) {
    try {
      const info = await ctx.backend.fsinfo(a.object.backend);
      return { status: nfsstat3.NFS3_OK, attrs: await attrsOrNone(ctx, a.object.backend), info };
    } catch (e) {
      return { status: statusOf(ctx, e, this.name), attrs: await attrsOrNone(ctx, a.object.backend) };
    }
  },
  fail: (status) => ({ status }),
  encode(w, res) {
    w.u32(res.status);
    encodePostOpAttr(w, res.attrs);
    if (res.status !== nfsstat3.NFS3_OK) return;
    const i = res.info!;
    w.u32(i.linkMax).u32(i.nameMax).bool(i.noTrunc).bool(i.chownRestricted).bool(i.caseInsensitive).bool(i.casePreserving);
  },
};
