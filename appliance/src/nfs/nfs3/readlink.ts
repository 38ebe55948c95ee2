/**
 * NFSPROC3_READLINK (RFC 1813 §3.3.5)
 *
 *   struct READLINK3args { nfs_fh3 symlink; };
 *   struct READLINK3resok { post_op_attr symlink_attributes; nfspath3 data; };
 *   struct READLINK3resfail { post_op_attr symlink_attributes; };
 *
 * The target is returned as stored; it is the client that resolves it, on
 * its side — the server never follows a symlink for a client.
 */
import type { Attrs, Name } from '../backend/backend.js';
import type { FileHandleArg, ProcEntry } from '../rpc/program.js';
import { attrsOrNone, decodeFh, encodePostOpAttr, nfsstat3, statusOf } from './types.js';

interface Args {
  symlink: FileHandleArg;
}
interface Res {
  status: nfsstat3;
  attrs?: Attrs;
  target?: Name;
}

export const readlink: ProcEntry<Args, Res> = {
  name: 'NFSPROC3_READLINK',
  flags: 0,
  decode: (r) => ({ symlink: decodeFh(r) }),
  handles: (a) => [a.symlink],
  async handler(ctx, a) {
    try {
      const res = await ctx.backend.readlink(ctx.cred, a.symlink.backend);
      return { status: nfsstat3.NFS3_OK, attrs: res.attrs, target: res.target };
    } catch (e) {
      return { status: statusOf(ctx, e, this.name), attrs: await attrsOrNone(ctx, a.symlink.backend) };
    }
  },
  fail: (status) => ({ status }),
  encode(w, res) {
    w.u32(res.status);
    encodePostOpAttr(w, res.attrs);
    if (res.status === nfsstat3.NFS3_OK) w.string(res.target!);
  },
};
