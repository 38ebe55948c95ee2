/**
 * NFSPROC3_REMOVE (RFC 1813 §3.3.12)
 *
 *   struct REMOVE3args { diropargs3 object; };
 *   struct REMOVE3resok { wcc_data dir_wcc; };
 *   struct REMOVE3resfail { wcc_data dir_wcc; };
 */
import type { Wcc } from '../backend/backend.js';
import { CAN_BE_DUP, MAKES_WRITE, type ProcEntry } from '../rpc/program.js';
import { attrsOrNone, badName, decodeDirOp, encodeWcc, nfsstat3, statusOf, StatusError, type diropargs3 } from './types.js';

interface Args {
  object: diropargs3;
}
interface Res {
  status: nfsstat3;
  dirWcc?: Wcc;
}

export const remove: ProcEntry<Args, Res> = {
  name: 'NFSPROC3_REMOVE',
  flags: MAKES_WRITE | CAN_BE_DUP,
  decode: (r) => ({ object: decodeDirOp(r) }),
  handles: (a) => [a.object.dir],
  async handler(ctx, a) {
    try {
      const bad = badName(a.object.name, true, ctx.backend);
      if (bad !== undefined) throw new StatusError(a.object.name === '.' || a.object.name === '..' ? nfsstat3.NFS3ERR_INVAL : bad);
      return { status: nfsstat3.NFS3_OK, dirWcc: await ctx.backend.remove(ctx.cred, a.object.dir.backend, a.object.name) };
    } catch (e) {
      return { status: statusOf(ctx, e, this.name), dirWcc: { after: await attrsOrNone(ctx, a.object.dir.backend) } };
    }
  },
  fail: (status) => ({ status }),
  encode(w, res) {
    w.u32(res.status);
    encodeWcc(w, res.dirWcc);
  },
};
