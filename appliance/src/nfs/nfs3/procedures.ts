/**
 * The NFSv3 procedure table (RFC 1813 §3.3), indexed by procedure number.
 * Flags live in each entry: MAKES_WRITE (refused on read-only exports),
 * CAN_BE_DUP (kept in the duplicate request cache).
 */
import type { Program, ProcEntry } from '../rpc/program.js';
import { access } from './access.js';
import { commit } from './commit.js';
import { create } from './create.js';
import { fsinfo } from './fsinfo.js';
import { fsstat } from './fsstat.js';
import { getattr } from './getattr.js';
import { link } from './link.js';
import { lookup } from './lookup.js';
import { mkdir } from './mkdir.js';
import { mknod } from './mknod.js';
import { nullProc } from './null.js';
import { pathconf } from './pathconf.js';
import { read } from './read.js';
import { readdir } from './readdir.js';
import { readdirplus } from './readdirplus.js';
import { readlink } from './readlink.js';
import { remove } from './remove.js';
import { rename } from './rename.js';
import { rmdir } from './rmdir.js';
import { setattr } from './setattr.js';
import { symlink } from './symlink.js';
import { write } from './write.js';
import { NFS_PROGRAM, NFS_V3 } from './types.js';

export const NFS3_PROCEDURES: ProcEntry[] = [
  /* 0 */ nullProc,
  /* 1 */ getattr,
  /* 2 */ setattr,
  /* 3 */ lookup,
  /* 4 */ access,
  /* 5 */ readlink,
  /* 6 */ read,
  /* 7 */ write,
  /* 8 */ create,
  /* 9 */ mkdir,
  /* 10 */ symlink,
  /* 11 */ mknod,
  /* 12 */ remove,
  /* 13 */ rmdir,
  /* 14 */ rename,
  /* 15 */ link,
  /* 16 */ readdir,
  /* 17 */ readdirplus,
  /* 18 */ fsstat,
  /* 19 */ fsinfo,
  /* 20 */ pathconf,
  /* 21 */ commit,
];

export const nfs3Program: Program = {
  name: 'nfs',
  prog: NFS_PROGRAM,
  versions: new Map([[NFS_V3, NFS3_PROCEDURES]]),
};
