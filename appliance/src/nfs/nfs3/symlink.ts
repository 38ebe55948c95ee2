/**
 * NFSPROC3_SYMLINK (RFC 1813 §3.3.10)
 *
 *   struct symlinkdata3 { sattr3 symlink_attributes; nfspath3 symlink_data; };
 *   struct SYMLINK3args { diropargs3 where; symlinkdata3 symlink; };
 *   (results: diropres.ts)
 *
 * The target is stored as given, byte for byte (nfspath3 is opaque; a
 * target that is not UTF-8 goes only to a backend that takes raw names,
 * the others answer NFS3ERR_INVAL rather than store another target); the
 * server never follows it.
 */
import type { Name, SetAttrs } from '../backend/backend.js';
import { BackendError } from '../backend/errors.js';
import { CAN_BE_DUP, MAKES_WRITE, type ProcEntry } from '../rpc/program.js';
import { encodeDirOpRes, failDirOp, makeEntry, type DirOpRes } from './diropres.js';
import { decodeDirOp, decodePath, decodeSattr, type diropargs3 } from './types.js';

interface Args {
  where: diropargs3;
  attrs: SetAttrs;
  target: Name;
}

export const symlink: ProcEntry<Args, DirOpRes> = {
  name: 'NFSPROC3_SYMLINK',
  flags: MAKES_WRITE | CAN_BE_DUP,
  decode: (r) => ({ where: decodeDirOp(r), attrs: decodeSattr(r), target: decodePath(r) }),
  handles: (a) => [a.where.dir],
  handler(ctx, a) {
    return makeEntry(ctx, this.name, a.where.dir, a.where.name, a.attrs, () => {
      if (typeof a.target !== 'string' && !ctx.backend.rawNames) throw new BackendError('EINVAL', 'symlink target is not UTF-8');
      return ctx.backend.symlink(ctx.cred, a.where.dir.backend, a.where.name, a.target, a.attrs);
    });
  },
  fail: failDirOp,
  encode: encodeDirOpRes,
};
