/**
 * NFSPROC3_RENAME (RFC 1813 §3.3.14)
 *
 *   struct RENAME3args { diropargs3 from; diropargs3 to; };
 *   struct RENAME3resok { wcc_data fromdir_wcc; wcc_data todir_wcc; };
 *   struct RENAME3resfail { wcc_data fromdir_wcc; wcc_data todir_wcc; };
 *
 * An existing `to` is replaced atomically (as rename(2)). Both directories
 * must be in the same export (the dispatcher answers NFS3ERR_XDEV).
 */
import type { Wcc } from '../backend/backend.js';
import { CAN_BE_DUP, MAKES_WRITE, type ProcEntry } from '../rpc/program.js';
import { attrsOrNone, badName, decodeDirOp, encodeWcc, nfsstat3, statusOf, StatusError, type diropargs3 } from './types.js';

interface Args {
  from: diropargs3;
  to: diropargs3;
}
interface Res {
  status: nfsstat3;
  from?: Wcc;
  to?: Wcc;
}

export const rename: ProcEntry<Args, Res> = {
  name: 'NFSPROC3_RENAME',
  flags: MAKES_WRITE | CAN_BE_DUP,
  decode: (r) => ({ from: decodeDirOp(r), to: decodeDirOp(r) }),
  handles: (a) => [a.from.dir, a.to.dir],
  async handler(ctx, a) {
    try {
      for (const n of [a.from.name, a.to.name]) {
        const bad = badName(n, true, ctx.backend);
        if (bad !== undefined) throw new StatusError(n === '.' || n === '..' ? nfsstat3.NFS3ERR_INVAL : bad);
      }
      const res = await ctx.backend.rename(ctx.cred, a.from.dir.backend, a.from.name, a.to.dir.backend, a.to.name);
      return { status: nfsstat3.NFS3_OK, ...res };
    } catch (e) {
      return {
        status: statusOf(ctx, e, this.name),
        from: { after: await attrsOrNone(ctx, a.from.dir.backend) },
        to: { after: await attrsOrNone(ctx, a.to.dir.backend) },
      };
    }
  },
  fail: (status) => ({ status }),
  encode(w, res) {
    w.u32(res.status);
    encodeWcc(w, res.from);
    encodeWcc(w, res.to);
  },
};
