/**
 * NFSPROC3_MKDIR (RFC 1813 §3.3.9)
 *
 *   struct MKDIR3args { diropargs3 where; sattr3 attributes; };
 *   (results: diropres.ts)
 */
import type { SetAttrs } from '../backend/backend.js';
import { CAN_BE_DUP, MAKES_WRITE, type ProcEntry } from '../rpc/program.js';
import { encodeDirOpRes, failDirOp, makeEntry, type DirOpRes } from './diropres.js';
import { decodeDirOp, decodeSattr, type diropargs3 } from './types.js';

interface Args {
  where: diropargs3;
  attrs: SetAttrs;
}

export const mkdir: ProcEntry<Args, DirOpRes> = {
  name: 'NFSPROC3_MKDIR',
  flags: MAKES_WRITE | CAN_BE_DUP,
  decode: (r) => ({ where: decodeDirOp(r), attrs: decodeSattr(r) }),
  handles: (a) => [a.where.dir],
  handler(ctx, a) {
    return makeEntry(ctx, this.name, a.where.dir, a.where.name, a.attrs, () => ctx.backend.mkdir(ctx.cred, a.where.dir.backend, a.where.name, a.attrs));
  },
  fail: failDirOp,
  encode: encodeDirOpRes,
};
