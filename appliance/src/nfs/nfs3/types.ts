/**
 * NFSv3 wire types shared by the procedures (RFC 1813 §2.5, §2.6), with the
 * RFC's names. Encoders for fattr3, post_op_attr, wcc_data, post_op_fh3;
 * decoders for nfs_fh3, diropargs3, sattr3.
 */
import { nameOf, type Attrs, type Backend, type FileType, type Name, type PreOpAttrs, type SetAttrs, type Time, type Wcc } from '../backend/backend.js';
import { nfsstat3, toNfsStat } from '../backend/errors.js';
import { NFS3_FHSIZE } from '../backend/filehandle.js';
import { FileHandleArg, type CallContext } from '../rpc/program.js';
import { XdrDecodeError, type XdrReader } from '../xdr/reader.js';
import type { XdrWriter } from '../xdr/writer.js';

export { nfsstat3 };

export const NFS_PROGRAM = 100003;
export const NFS_V3 = 3;
/** Longest name we accept (filename3 is unbounded in XDR; NAME_MAX on Linux). */
export const NAME_MAX = 255;
export const PATH_MAX = 4096;
export const NFS3_COOKIEVERFSIZE = 8;
export const NFS3_CREATEVERFSIZE = 8;
export const NFS3_WRITEVERFSIZE = 8;

/** ftype3 */
export const ftype3: Record<FileType, number> = { reg: 1, dir: 2, blk: 3, chr: 4, lnk: 5, sock: 6, fifo: 7 };

/** nfs_fh3: opaque data<NFS3_FHSIZE>. */
export function decodeFh(r: XdrReader): FileHandleArg {
  return new FileHandleArg(r.opaque(NFS3_FHSIZE));
}

/**
 * filename3: opaque bytes (RFC 1813 §2.5). A string when they are valid
 * UTF-8, else the bytes themselves (backend.ts `Name`).
 */
export function decodeName(r: XdrReader): Name {
  return nameOf(r.opaque(NAME_MAX * 4));
}

/** nfspath3 (a symlink's target): opaque bytes as well, kept as they are. */
export function decodePath(r: XdrReader): Name {
  return nameOf(r.opaque(PATH_MAX));
}

/** diropargs3 { nfs_fh3 dir; filename3 name; } */
export interface diropargs3 {
  dir: FileHandleArg;
  name: Name;
}
export function decodeDirOp(r: XdrReader): diropargs3 {
  return { dir: decodeFh(r), name: decodeName(r) };
}

/**
 * Checks a filename3 argument before a backend sees it (backend.ts rule 2):
 * one component, no NUL or `/`. `creating` also refuses `.` and `..`
 * (RFC 1813 §3.3.8: the server may refuse them; knfsd says EXIST). A name
 * that is not UTF-8 goes only to a backend that takes raw names.
 * Returns the nfsstat3 to answer, or undefined when the name is fine.
 */
export function badName(name: Name, creating: boolean, backend: Backend): nfsstat3 | undefined {
  if (name.length === 0) return nfsstat3.NFS3ERR_NOENT;
  if (Buffer.byteLength(name) > NAME_MAX) return nfsstat3.NFS3ERR_NAMETOOLONG;
  if (typeof name !== 'string') {
    if (!backend.rawNames) return nfsstat3.NFS3ERR_INVAL;
    return name.includes(0x2f) || name.includes(0) ? nfsstat3.NFS3ERR_INVAL : undefined;
  }
  if (name.includes('/') || name.includes('\0')) return nfsstat3.NFS3ERR_INVAL;
  if (creating && (name === '.' || name === '..')) return nfsstat3.NFS3ERR_EXIST;
  return undefined;
}

/**
 * A sattr3 no backend may be handed: a client time with nseconds past
 * 999,999,999 is NFS3ERR_INVAL (as utimensat(2) says EINVAL) before
 * anything is set; a backend that sets size and mode first would leave
 * the call half done (gfapi answered such a SETATTR ENOMEM, size set).
 */
export function badSattr(set: SetAttrs | undefined): nfsstat3 | undefined {
  for (const t of [set?.atime, set?.mtime]) if (typeof t === 'object' && t.nsec >= 1_000_000_000) return nfsstat3.NFS3ERR_INVAL;
  return undefined;
}

/**
 * sattr3 (§2.5): set_mode3, set_uid3, set_gid3, set_size3, set_atime, set_mtime.
 * time_how: DONT_CHANGE 0, SET_TO_SERVER_TIME 1, SET_TO_CLIENT_TIME 2.
 */
export function decodeSattr(r: XdrReader): SetAttrs {
  const s: SetAttrs = {};
  if (r.bool()) s.mode = r.u32() & 0o7777;
  if (r.bool()) s.uid = r.u32();
  if (r.bool()) s.gid = r.u32();
  if (r.bool()) s.size = r.u64();
  const atime = r.u32();
  if (atime === 1) s.atime = 'server';
  else if (atime === 2) s.atime = decodeTime(r);
  else if (atime !== 0) throw new XdrDecodeError(`bad time_how ${atime}`);
  const mtime = r.u32();
  if (mtime === 1) s.mtime = 'server';
  else if (mtime === 2) s.mtime = decodeTime(r);
  else if (mtime !== 0) throw new XdrDecodeError(`bad time_how ${mtime}`);
  return s;
}

export function decodeTime(r: XdrReader): Time {
  return { sec: r.u32(), nsec: r.u32() };
}

function encodeTime(w: XdrWriter, t: Time): void {
  w.u32(t.sec).u32(t.nsec);
}

/**
 * fattr3 {
 *   ftype3 type; mode3 mode; uint32 nlink; uid3 uid; gid3 gid;
 *   size3 size; size3 used; specdata3 rdev; uint64 fsid; fileid3 fileid;
 *   nfstime3 atime; nfstime3 mtime; nfstime3 ctime;
 * }
 */
export function encodeFattr(w: XdrWriter, a: Attrs): void {
  w.u32(ftype3[a.type]).u32(a.mode & 0o7777).u32(a.nlink).u32(a.uid).u32(a.gid);
  w.u64(a.size).u64(a.used).u32(a.rdev.major).u32(a.rdev.minor).u64(a.fsid).u64(a.fileid);
  encodeTime(w, a.atime);
  encodeTime(w, a.mtime);
  encodeTime(w, a.ctime);
}

/** post_op_attr: bool attributes_follow; fattr3. */
export function encodePostOpAttr(w: XdrWriter, a: Attrs | undefined): void {
  w.bool(a !== undefined);
  if (a) encodeFattr(w, a);
}

/** pre_op_attr: bool + wcc_attr { size3 size; nfstime3 mtime; nfstime3 ctime; } */
function encodePreOpAttr(w: XdrWriter, p: PreOpAttrs | undefined): void {
  w.bool(p !== undefined);
  if (p) {
    w.u64(p.size);
    encodeTime(w, p.mtime);
    encodeTime(w, p.ctime);
  }
}

/** wcc_data { pre_op_attr before; post_op_attr after; } */
export function encodeWcc(w: XdrWriter, wcc: Wcc | undefined): void {
  encodePreOpAttr(w, wcc?.before);
  encodePostOpAttr(w, wcc?.after);
}

/** post_op_fh3: bool handle_follows; nfs_fh3. */
export function encodePostOpFh(w: XdrWriter, fh: Buffer | undefined): void {
  w.bool(fh !== undefined);
  if (fh) w.opaque(fh);
}

/** The wire handle of a backend handle of the call's export. */
export function wireHandle(ctx: CallContext, backendHandle: Buffer): Buffer {
  return ctx.server.codec.encode(ctx.export!.id, backendHandle);
}

/** Attributes of a handle for a failure reply's post-op attrs; undefined if they cannot be had. */
export async function attrsOrNone(ctx: CallContext, backendHandle: Buffer): Promise<Attrs | undefined> {
  try {
    return await ctx.backend.getattr(backendHandle);
  } catch {
    return undefined;
  }
}

/** The status of an error thrown by the backend (errors.ts, the one table). */
export function statusOf(ctx: CallContext, err: unknown, proc: string): nfsstat3 {
  if (err instanceof StatusError) return err.status;
  return toStat(ctx, err, proc);
}

function toStat(ctx: CallContext, err: unknown, proc: string): nfsstat3 {
  return toNfsStat(err, (e) => ctx.server.log.warn({ err: e, proc, client: ctx.client.address }, 'unmapped backend error'));
}

/** Thrown by handlers to answer a given status (e.g. a bad name). */
export class StatusError extends Error {
  constructor(readonly status: nfsstat3) {
    super(`nfsstat3 ${status}`);
  }
}
