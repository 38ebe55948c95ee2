/**
 * NFSPROC3_READ (RFC 1813 §3.3.6)
 *
 *   struct READ3args { nfs_fh3 file; offset3 offset; count3 count; };
 *   struct READ3resok { post_op_attr file_attributes; count3 count; bool eof; opaque data<>; };
 *   struct READ3resfail { post_op_attr file_attributes; };
 *
 * The data Buffer from the backend is sent by reference (XdrWriter.opaqueRef),
 * never copied into the reply. Large reads go into a buffer lent by the
 * transport (ctx.replyBuffers), which takes it back once the reply has been
 * written: no fresh 1 MiB allocation, and no garbage, per READ. Counts above
 * rtmax are cut to rtmax. Better still, a backend that can (posix) lets the
 * transport send big reads from the file to the socket with sendfile
 * (Backend.readDirect): the data never enters this process.
 */
import type { Attrs, DirectRead } from '../backend/backend.js';
import type { FileHandleArg, ProcEntry } from '../rpc/program.js';
import { MAX_IO } from './fsinfo.js';
import { attrsOrNone, decodeFh, encodePostOpAttr, nfsstat3, statusOf } from './types.js';

interface Args {
  file: FileHandleArg;
  offset: bigint;
  count: number;
}
interface Res {
  status: nfsstat3;
  attrs?: Attrs;
  eof?: boolean;
  data?: Buffer;
  direct?: DirectRead;
}

/** Reads at least this big go from the file to the socket when they can (Backend.readDirect). */
const DIRECT_MIN = 64 * 1024;

export const read: ProcEntry<Args, Res> = {
  name: 'NFSPROC3_READ',
  flags: 0,
  decode: (r) => ({ file: decodeFh(r), offset: r.u64(), count: r.u32() }),
  handles: (a) => [a.file],
  async handler(ctx, a) {
    try {
      const count = Math.min(a.count, MAX_IO);
      if (count >= DIRECT_MIN && ctx.replyBuffers?.direct && ctx.backend.readDirect) {
        const direct = ctx.backend.readDirect(ctx.cred, a.file.backend, a.offset, count);
        if (direct) return { status: nfsstat3.NFS3_OK, attrs: direct.attrs, eof: direct.eof, direct };
      }
      const res = await ctx.backend.read(ctx.cred, a.file.backend, a.offset, count, ctx.replyBuffers?.take(count));
      return { status: nfsstat3.NFS3_OK, attrs: res.attrs, eof: res.eof, data: res.data };
    } catch (e) {
      return { status: statusOf(ctx, e, this.name), attrs: await attrsOrNone(ctx, a.file.backend) };
    }
  },
  fail: (status) => ({ status }),
  encode(w, res) {
    w.u32(res.status);
    encodePostOpAttr(w, res.attrs);
    if (res.status === nfsstat3.NFS3_OK) {
      if (res.direct) w.u32(res.direct.count).bool(res.eof!).opaqueFile(res.direct);
      else w.u32(res.data!.length).bool(res.eof!).opaqueRef(res.data!);
    }
  },
};
