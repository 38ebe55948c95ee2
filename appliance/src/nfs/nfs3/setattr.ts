/**
 * NFSPROC3_SETATTR (RFC 1813 §3.3.2)
 *
 *   union sattrguard3 switch (bool check) {
 *     case TRUE: nfstime3 obj_ctime;
 *     case FALSE: void;
 *   };
 *   struct SETATTR3args { nfs_fh3 object; sattr3 new_attributes; sattrguard3 guard; };
 *   struct SETATTR3resok { wcc_data obj_wcc; };
 *   struct SETATTR3resfail { wcc_data obj_wcc; };
 *
 * With a guard, the change happens only if the object's ctime still equals
 * obj_ctime, else NFS3ERR_NOT_SYNC.
 */
import type { SetAttrs, Time, Wcc } from '../backend/backend.js';
import { CAN_BE_DUP, MAKES_WRITE, type FileHandleArg, type ProcEntry } from '../rpc/program.js';
import { attrsOrNone, badSattr, decodeFh, decodeSattr, decodeTime, encodeWcc, nfsstat3, statusOf } from './types.js';

interface Args {
  object: FileHandleArg;
  set: SetAttrs;
  guard?: Time;
}
interface Res {
  status: nfsstat3;
  wcc?: Wcc;
}

export const setattr: ProcEntry<Args, Res> = {
  name: 'NFSPROC3_SETATTR',
  flags: MAKES_WRITE | CAN_BE_DUP,
  decode: (r) => ({ object: decodeFh(r), set: decodeSattr(r), guard: r.optional(() => decodeTime(r)) }),
  handles: (a) => [a.object],
  async handler(ctx, a) {
    try {
      const bad = badSattr(a.set);
      if (bad !== undefined) return { status: bad, wcc: { after: await attrsOrNone(ctx, a.object.backend) } };
      return { status: nfsstat3.NFS3_OK, wcc: await ctx.backend.setattr(ctx.cred, a.object.backend, a.set, a.guard) };
    } catch (e) {
      return { status: statusOf(ctx, e, this.name), wcc: { after: await attrsOrNone(ctx, a.object.backend) } };
    }
  },
  fail: (status) => ({ status }),
  encode(w, res) {
    w.u32(res.status);
    encodeWcc(w, res.wcc);
  },
};
