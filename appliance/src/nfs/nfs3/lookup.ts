/**
 * NFSPROC3_LOOKUP (RFC 1813 §3.3.3)
 *
 *   struct LOOKUP3args { diropargs3 what; };
 *   struct LOOKUP3resok { nfs_fh3 object; post_op_attr obj_attributes; post_op_attr dir_attributes; };
 *   struct LOOKUP3resfail { post_op_attr dir_attributes; };
 *
 * `..` of the export root is the root itself: no lookup leaves the export.
 */
import type { Attrs } from '../backend/backend.js';
import type { FileHandleArg, ProcEntry } from '../rpc/program.js';
import { attrsOrNone, badName, decodeDirOp, encodePostOpAttr, nfsstat3, statusOf, wireHandle, type diropargs3 } from './types.js';

interface Args {
  what: diropargs3;
}
interface Res {
  status: nfsstat3;
  object?: Buffer;
  attrs?: Attrs;
  dirAttrs?: Attrs;
}

export const lookup: ProcEntry<Args, Res> = {
  name: 'NFSPROC3_LOOKUP',
  flags: 0,
  decode: (r) => ({ what: decodeDirOp(r) }),
  handles: (a) => [a.what.dir],
  async handler(ctx, a) {
    const dir = a.what.dir.backend;
    try {
      const bad = badName(a.what.name, false, ctx.backend);
      if (bad !== undefined) return { status: bad, dirAttrs: await attrsOrNone(ctx, dir) };
      if (a.what.name === '..' && dir.equals(await ctx.export!.rootHandle())) {
        const attrs = await ctx.backend.getattr(dir);
        return { status: nfsstat3.NFS3_OK, object: a.what.dir.raw, attrs, dirAttrs: attrs };
      }
      const found = await ctx.backend.lookup(ctx.cred, dir, a.what.name);
      return { status: nfsstat3.NFS3_OK, object: wireHandle(ctx, found.handle), attrs: found.attrs, dirAttrs: found.dir.after };
    } catch (e) {
      return { status: statusOf(ctx, e, this.name), dirAttrs: await attrsOrNone(ctx, dir) };
    }
  },
  fail: (status) => ({ status }),
  encode(w, res) {
    w.u32(res.status);
    if (res.status === nfsstat3.NFS3_OK) {
      w.opaque(res.object!);
      encodePostOpAttr(w, res.attrs);
    }
    encodePostOpAttr(w, res.dirAttrs);
  },
};
