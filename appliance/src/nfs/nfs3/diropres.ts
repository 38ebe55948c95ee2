/**
 * The result shared by CREATE, MKDIR, SYMLINK and MKNOD (RFC 1813 §3.3.8-11):
 *
 *   struct CREATE3resok { post_op_fh3 obj; post_op_attr obj_attributes; wcc_data dir_wcc; };
 *   struct CREATE3resfail { wcc_data dir_wcc; };
 */
import type { Attrs, EntryResult, Name, SetAttrs, Wcc } from '../backend/backend.js';
import type { CallContext, FileHandleArg } from '../rpc/program.js';
import type { XdrWriter } from '../xdr/writer.js';
import { attrsOrNone, badName, badSattr, encodePostOpAttr, encodePostOpFh, encodeWcc, nfsstat3, statusOf, wireHandle } from './types.js';

export interface DirOpRes {
  status: nfsstat3;
  handle?: Buffer;
  attrs?: Attrs;
  dirWcc?: Wcc;
}

/** Runs a creating call on `dir`/`name` (asking for `attrs`), turning errors into a full-shape failure. */
export async function makeEntry(
  ctx: CallContext,
  proc: string,
  dir: FileHandleArg,
  name: Name,
  attrs: SetAttrs | undefined,
  make: () => Promise<EntryResult>,
): Promise<DirOpRes> {
  try {
    const bad = badName(name, true, ctx.backend) ?? badSattr(attrs);
    if (bad !== undefined) return { status: bad, dirWcc: { after: await attrsOrNone(ctx, dir.backend) } };
    const res = await make();
    return { status: nfsstat3.NFS3_OK, handle: wireHandle(ctx, res.handle), attrs: res.attrs, dirWcc: res.dir };
  } catch (e) {
    return { status: statusOf(ctx, e, proc), dirWcc: { after: await attrsOrNone(ctx, dir.backend) } };
  }
}

export function encodeDirOpRes(w: XdrWriter, res: DirOpRes): void {
  w.u32(res.status);
  if (res.status === nfsstat3.NFS3_OK) {
    encodePostOpFh(w, res.handle);
    encodePostOpAttr(w, res.attrs);
  }
  encodeWcc(w, res.dirWcc);
}

export const failDirOp = (status: number): DirOpRes => ({ status });
