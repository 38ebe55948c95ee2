/**
 * NFSPROC3_WRITE (RFC 1813 §3.3.7)
 *
 *   enum stable_how { UNSTABLE = 0, DATA_SYNC = 1, FILE_SYNC = 2 };
 *   struct WRITE3args { nfs_fh3 file; offset3 offset; count3 count; stable_how stable; opaque data<>; };
 *   struct WRITE3resok { wcc_data file_wcc; count3 count; stable_how committed; writeverf3 verf; };
 *   struct WRITE3resfail { wcc_data file_wcc; };
 *
 * `data` is a view into the RPC record, handed to the backend without a
 * copy. The verifier (per server instance) lets the client detect a restart
 * that lost UNSTABLE data and write it again (§3.3.7, §3.3.21).
 */
import type { StableHow, Wcc } from '../backend/backend.js';
import { CAN_BE_DUP, MAKES_WRITE, type FileHandleArg, type ProcEntry } from '../rpc/program.js';
import { XdrDecodeError } from '../xdr/reader.js';
import { MAX_IO } from './fsinfo.js';
import { attrsOrNone, decodeFh, encodeWcc, nfsstat3, statusOf } from './types.js';

const STABLE: StableHow[] = ['unstable', 'data_sync', 'file_sync'];

interface Args {
  file: FileHandleArg;
  offset: bigint;
  stable: StableHow;
  data: Buffer;
}
interface Res {
  status: nfsstat3;
  wcc?: Wcc;
  count?: number;
  committed?: StableHow;
  verf?: Buffer;
}

export const write: ProcEntry<Args, Res> = {
  name: 'NFSPROC3_WRITE',
  flags: MAKES_WRITE | CAN_BE_DUP,
  decode(r) {
    const file = decodeFh(r);
    const offset = r.u64();
    const count = r.u32();
    const stable = STABLE[r.enumOf([0, 1, 2], 'stable_how')]!;
    const data = r.opaque(MAX_IO);
    // §3.3.7: count is the number of bytes to write; data must hold them.
    if (count > data.length) throw new XdrDecodeError(`WRITE count ${count} exceeds its ${data.length} bytes of data`);
    return { file, offset, stable, data: data.subarray(0, count) };
  },
  handles: (a) => [a.file],
  async handler(ctx, a) {
    try {
      const res = await ctx.backend.write(ctx.cred, a.file.backend, a.offset, a.data, a.stable);
      return { status: nfsstat3.NFS3_OK, wcc: res.file, count: res.count, committed: res.committed, verf: ctx.backend.writeVerifier };
    } catch (e) {
      return { status: statusOf(ctx, e, this.name), wcc: { after: await attrsOrNone(ctx, a.file.backend) } };
    }
  },
  fail: (status) => ({ status }),
  encode(w, res) {
    w.u32(res.status);
    encodeWcc(w, res.wcc);
    if (res.status === nfsstat3.NFS3_OK) {
      w.u32(res.count!).u32(STABLE.indexOf(res.committed!)).fixedOpaque(res.verf!);
    }
  },
};
