/**
 * NFSPROC3_FSINFO (RFC 1813 §3.3.19)
 *
 *   struct FSINFO3args { nfs_fh3 fsroot; };
 *   struct FSINFO3resok { post_op_attr obj_attributes; uint32 rtmax; uint32 rtpref; uint32 rtmult;
 *                         uint32 wtmax; uint32 wtpref; uint32 wtmult; uint32 dtpref;
 *                         size3 maxfilesize; nfstime3 time_delta; uint32 properties; };
 *   struct FSINFO3resfail { post_op_attr obj_attributes; };
 *
 * rtmax = wtmax = 1 MiB: clients told less crawl (FACTS.md).
 */
import type { Attrs, FsInfo } from '../backend/backend.js';
import type { FileHandleArg, ProcEntry } from '../rpc/program.js';
import { attrsOrNone, decodeFh, encodePostOpAttr, nfsstat3, statusOf } from './types.js';

/** Largest READ and WRITE, in bytes. */
export const MAX_IO = 1024 * 1024;
const DTPREF = 64 * 1024;
const FSF3_LINK = 0x1;
const FSF3_SYMLINK = 0x2;
const FSF3_HOMOGENEOUS = 0x8;
const FSF3_CANSETTIME = 0x10;

interface Args {
  fsroot: FileHandleArg;
}
interface Res {
  status: nfsstat3;
  attrs?: Attrs;
  info?: FsInfo;
}

export const fsinfo: ProcEntry<Args, Res> = {
  name: 'NFSPROC3_FSINFO',
  flags: 0,
  decode: (r) => ({ fsroot: decodeFh(r) }),
  handles: (a) => [a.fsroot],
  async handler(ctx, a) {
    try {
      const info = await ctx.backend.fsinfo(a.fsroot.backend);
      return { status: nfsstat3.NFS3_OK, attrs: await attrsOrNone(ctx, a.fsroot.backend), info };
    } catch (e) {
      return { status: statusOf(ctx, e, this.name), attrs: await attrsOrNone(ctx, a.fsroot.backend) };
    }
  },
  fail: (status) => ({ status }),
  encode(w, res) {
    w.u32(res.status);
    encodePostOpAttr(w, res.attrs);
    if (res.status !== nfsstat3.NFS3_OK) return;
    const i = res.info!;
    const rt = Math.min(i.maxRead, MAX_IO);
    const wt = Math.min(i.maxWrite, MAX_IO);
    w.u32(rt).u32(rt).u32(4096).u32(wt).u32(wt).u32(4096).u32(DTPREF);
    w.u64(i.maxFileSize).u32(i.timeDelta.sec).u32(i.timeDelta.nsec);
    w.u32((i.hardlinks ? FSF3_LINK : 0) | (i.symlinks ? FSF3_SYMLINK : 0) | FSF3_HOMOGENEOUS | FSF3_CANSETTIME);
  },
};
