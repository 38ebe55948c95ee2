/**
 * NFSPROC3_SYMLINK (RFC 1813 §3.3.10)
 *
 *   struct symlinkdata3 { sattr3 symlink_attributes; nfspath3 symlink_data; };
 *   struct SYMLINK3args { diropargs3 where; symlinkdata3 symlink; };
 *   (results: diropres.ts)
 *
 * The target is stored as given; the server never follows it.
 */
import type { SetAttrs } from '../backend/backend.js';
import { CAN_BE_DUP, MAKES_WRITE, type ProcEntry } from '../rpc/program.js';
import { encodeDirOpRes, failDirOp, makeEntry, type DirOpRes } from './diropres.js';
import { decodeDirOp, decodeSattr, PATH_MAX, type diropargs3 } from './types.js';

interface Args {
  where: diropargs3;
  attrs: SetAttrs;
  target: string;
}

export const symlink: ProcEntry<Args, DirOpRes> = {
  name: 'NFSPROC3_SYMLINK',
  flags: MAKES_WRITE | CAN_BE_DUP,
  decode: (r) => ({ where: decodeDirOp(r), attrs: decodeSattr(r), target: r.string(PATH_MAX) }),
  handles: (a) => [a.where.dir],
  handler(ctx, a) {
    return makeEntry(ctx, this.name, a.where.dir, a.where.name, () =>
      ctx.backend.symlink(ctx.cred, a.where.dir.backend, a.where.name, a.target, a.attrs),
    );
  },
  fail: failDirOp,
  encode: encodeDirOpRes,
};
