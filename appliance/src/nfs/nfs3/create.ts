/**
 * NFSPROC3_CREATE (RFC 1813 §3.3.8)
 *
 *   enum createmode3 { UNCHECKED = 0, GUARDED = 1, EXCLUSIVE = 2 };
 *   union createhow3 switch (createmode3 mode) {
 *     case UNCHECKED: case GUARDED: sattr3 obj_attributes;
 *     case EXCLUSIVE: createverf3 verf;
 *   };
 *   struct CREATE3args { diropargs3 where; createhow3 how; };
 *   (results: diropres.ts)
 */
import type { CreateHow } from '../backend/backend.js';
import { CAN_BE_DUP, MAKES_WRITE, type ProcEntry } from '../rpc/program.js';
import { encodeDirOpRes, failDirOp, makeEntry, type DirOpRes } from './diropres.js';
import { decodeDirOp, decodeSattr, NFS3_CREATEVERFSIZE, type diropargs3 } from './types.js';

interface Args {
  where: diropargs3;
  how: CreateHow;
}

export const create: ProcEntry<Args, DirOpRes> = {
  name: 'NFSPROC3_CREATE',
  flags: MAKES_WRITE | CAN_BE_DUP,
  decode(r) {
    const where = decodeDirOp(r);
    const mode = r.enumOf([0, 1, 2], 'createmode3');
    const how: CreateHow =
      mode === 2
        ? { mode: 'exclusive', verifier: Buffer.from(r.fixedOpaque(NFS3_CREATEVERFSIZE)) }
        : { mode: mode === 0 ? 'unchecked' : 'guarded', attrs: decodeSattr(r) };
    return { where, how };
  },
  handles: (a) => [a.where.dir],
  handler(ctx, a) {
    return makeEntry(ctx, this.name, a.where.dir, a.where.name, a.how.mode === 'exclusive' ? undefined : a.how.attrs, () => ctx.backend.create(ctx.cred, a.where.dir.backend, a.where.name, a.how));
  },
  fail: failDirOp,
  encode: encodeDirOpRes,
};
