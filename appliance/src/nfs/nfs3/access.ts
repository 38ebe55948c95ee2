/**
 * NFSPROC3_ACCESS (RFC 1813 §3.3.4)
 *
 *   struct ACCESS3args { nfs_fh3 object; uint32 access; };
 *   struct ACCESS3resok { post_op_attr obj_attributes; uint32 access; };
 *   struct ACCESS3resfail { post_op_attr obj_attributes; };
 *
 * On a read-only export MODIFY, EXTEND and DELETE are never granted.
 */
import { ACCESS, type Attrs } from '../backend/backend.js';
import type { FileHandleArg, ProcEntry } from '../rpc/program.js';
import { attrsOrNone, decodeFh, encodePostOpAttr, nfsstat3, statusOf } from './types.js';

interface Args {
  object: FileHandleArg;
  access: number;
}
interface Res {
  status: nfsstat3;
  attrs?: Attrs;
  access?: number;
}

const WRITE_BITS = ACCESS.MODIFY | ACCESS.EXTEND | ACCESS.DELETE;

export const access: ProcEntry<Args, Res> = {
  name: 'NFSPROC3_ACCESS',
  flags: 0,
  decode: (r) => ({ object: decodeFh(r), access: r.u32() }),
  handles: (a) => [a.object],
  async handler(ctx, a) {
    try {
      const res = await ctx.backend.access(ctx.cred, a.object.backend, a.access & 0x3f);
      const granted = ctx.rule!.readOnly ? res.granted & ~WRITE_BITS : res.granted;
      return { status: nfsstat3.NFS3_OK, attrs: res.attrs, access: granted };
    } catch (e) {
      return { status: statusOf(ctx, e, this.name), attrs: await attrsOrNone(ctx, a.object.backend) };
    }
  },
  fail: (status) => ({ status }),
  encode(w, res) {
    w.u32(res.status);
    encodePostOpAttr(w, res.attrs);
    if (res.status === nfsstat3.NFS3_OK) w.u32(res.access!);
  },
};
