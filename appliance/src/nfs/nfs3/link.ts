/**
 * NFSPROC3_LINK (RFC 1813 §3.3.15)
 *
 *   struct LINK3args { nfs_fh3 file; diropargs3 link; };
 *   struct LINK3resok { post_op_attr file_attributes; wcc_data linkdir_wcc; };
 *   struct LINK3resfail { post_op_attr file_attributes; wcc_data linkdir_wcc; };
 */
import type { Attrs, Wcc } from '../backend/backend.js';
import { CAN_BE_DUP, MAKES_WRITE, type FileHandleArg, type ProcEntry } from '../rpc/program.js';
import { attrsOrNone, badName, decodeDirOp, decodeFh, encodePostOpAttr, encodeWcc, nfsstat3, statusOf, StatusError, type diropargs3 } from './types.js';

interface Args {
  file: FileHandleArg;
  link: diropargs3;
}
interface Res {
  status: nfsstat3;
  attrs?: Attrs;
  dirWcc?: Wcc;
}

export const link: ProcEntry<Args, Res> = {
  name: 'NFSPROC3_LINK',
  flags: MAKES_WRITE | CAN_BE_DUP,
  decode: (r) => ({ file: decodeFh(r), link: decodeDirOp(r) }),
  handles: (a) => [a.file, a.link.dir],
  async handler(ctx, a) {
    try {
      const bad = badName(a.link.name, true, ctx.backend);
      if (bad !== undefined) throw new StatusError(bad);
      const res = await ctx.backend.link(ctx.cred, a.file.backend, a.link.dir.backend, a.link.name);
      return { status: nfsstat3.NFS3_OK, attrs: res.attrs, dirWcc: res.dir };
    } catch (e) {
      return {
        status: statusOf(ctx, e, this.name),
        attrs: await attrsOrNone(ctx, a.file.backend),
        dirWcc: { after: await attrsOrNone(ctx, a.link.dir.backend) },
      };
    }
  },
  fail: (status) => ({ status }),
  encode(w, res) {
    w.u32(res.status);
    encodePostOpAttr(w, res.attrs);
    encodeWcc(w, res.dirWcc);
  },
};
