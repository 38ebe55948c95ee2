/**
 * NFSPROC3_COMMIT (RFC 1813 §3.3.21)
 *
 *   struct COMMIT3args { nfs_fh3 file; offset3 offset; count3 count; };
 *   struct COMMIT3resok { wcc_data file_wcc; writeverf3 verf; };
 *   struct COMMIT3resfail { wcc_data file_wcc; };
 *
 * Data written UNSTABLE in the range is durable when this returns; the
 * verifier is the one WRITE returned, unless the server restarted since.
 */
import type { Wcc } from '../backend/backend.js';
import type { FileHandleArg, ProcEntry } from '../rpc/program.js';
import { attrsOrNone, decodeFh, encodeWcc, nfsstat3, statusOf } from './types.js';

interface Args {
  file: FileHandleArg;
  offset: bigint;
  count: number;
}
interface Res {
  status: nfsstat3;
  wcc?: Wcc;
  verf?: Buffer;
}

export const commit: ProcEntry<Args, Res> = {
  name: 'NFSPROC3_COMMIT',
  flags: 0,
  decode: (r) => ({ file: decodeFh(r), offset: r.u64(), count: r.u32() }),
  handles: (a) => [a.file],
  async handler(ctx, a) {
    try {
      const wcc = await ctx.backend.commit(ctx.cred, a.file.backend, a.offset, a.count);
      return { status: nfsstat3.NFS3_OK, wcc, verf: ctx.backend.writeVerifier };
    } catch (e) {
      return { status: statusOf(ctx, e, this.name), wcc: { after: await attrsOrNone(ctx, a.file.backend) } };
    }
  },
  fail: (status) => ({ status }),
  encode(w, res) {
    w.u32(res.status);
    encodeWcc(w, res.wcc);
    if (res.status === nfsstat3.NFS3_OK) w.fixedOpaque(res.verf!);
  },
};
