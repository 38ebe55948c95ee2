/**
 * NFSPROC3_MKNOD (RFC 1813 §3.3.11)
 *
 *   struct devicedata3 { sattr3 dev_attributes; specdata3 spec; };
 *   union mknoddata3 switch (ftype3 type) {
 *     case NF3CHR: case NF3BLK: devicedata3 device;
 *     case NF3SOCK: case NF3FIFO: sattr3 pipe_attributes;
 *     default: void;
 *   };
 *   struct MKNOD3args { diropargs3 where; mknoddata3 what; };
 *   (results: diropres.ts)
 *
 * Regular files, directories and symlinks have their own procedures:
 * asking MKNOD for them is NFS3ERR_BADTYPE.
 */
import type { SetAttrs } from '../backend/backend.js';
import { CAN_BE_DUP, MAKES_WRITE, type ProcEntry } from '../rpc/program.js';
import { encodeDirOpRes, failDirOp, makeEntry, type DirOpRes } from './diropres.js';
import { decodeDirOp, decodeSattr, nfsstat3, type diropargs3 } from './types.js';

type NodeType = 'blk' | 'chr' | 'sock' | 'fifo';
const TYPES: Record<number, NodeType> = { 3: 'blk', 4: 'chr', 6: 'sock', 7: 'fifo' };

interface Args {
  where: diropargs3;
  type?: NodeType;
  attrs: SetAttrs;
  rdev?: { major: number; minor: number };
}

export const mknod: ProcEntry<Args, DirOpRes> = {
  name: 'NFSPROC3_MKNOD',
  flags: MAKES_WRITE | CAN_BE_DUP,
  decode(r) {
    const where = decodeDirOp(r);
    const type = TYPES[r.enumOf([1, 2, 3, 4, 5, 6, 7], 'ftype3')];
    if (type === 'blk' || type === 'chr') return { where, type, attrs: decodeSattr(r), rdev: { major: r.u32(), minor: r.u32() } };
    if (type) return { where, type, attrs: decodeSattr(r) };
    return { where, attrs: {} };
  },
  handles: (a) => [a.where.dir],
  async handler(ctx, a) {
    if (!a.type) return { status: nfsstat3.NFS3ERR_BADTYPE };
    const type = a.type;
    return makeEntry(ctx, this.name, a.where.dir, a.where.name, a.attrs, () =>
      ctx.backend.mknod(ctx.cred, a.where.dir.backend, a.where.name, type, a.attrs, a.rdev),
    );
  },
  fail: failDirOp,
  encode: encodeDirOpRes,
};
