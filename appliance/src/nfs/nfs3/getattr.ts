/**
 * NFSPROC3_GETATTR (RFC 1813 §3.3.1)
 *
 *   struct GETATTR3args { nfs_fh3 object; };
 *   struct GETATTR3resok { fattr3 obj_attributes; };
 *   union GETATTR3res switch (nfsstat3 status) {
 *     case NFS3_OK: GETATTR3resok resok;
 *     default: void;
 *   };
 */
import type { Attrs } from '../backend/backend.js';
import type { FileHandleArg, ProcEntry } from '../rpc/program.js';
import { decodeFh, encodeFattr, nfsstat3 } from './types.js';

interface Args {
  object: FileHandleArg;
}
interface Res {
  status: nfsstat3;
  attrs?: Attrs;
}

export const getattr: ProcEntry<Args, Res> = {
  name: 'NFSPROC3_GETATTR',
  flags: 0,
  decode: (r) => ({ object: decodeFh(r) }),
  handles: (a) => [a.object],
  handler: async (ctx, a) => ({ status: nfsstat3.NFS3_OK, attrs: await ctx.backend.getattr(a.object.backend) }),
  fail: (status) => ({ status }),
  encode(w, res) {
    w.u32(res.status);
    if (res.status === nfsstat3.NFS3_OK) encodeFattr(w, res.attrs!);
  },
};
