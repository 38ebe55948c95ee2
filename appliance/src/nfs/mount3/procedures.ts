/** The MOUNT v3 procedure table (RFC 1813 appendix I), indexed by procedure number. */
import type { Program, ProcEntry } from '../rpc/program.js';
import { dump } from './dump.js';
import { exportProc } from './export.js';
import { mnt } from './mnt.js';
import { mountNull } from './null.js';
import { MOUNT_PROGRAM, MOUNT_V3 } from './types.js';
import { umnt } from './umnt.js';
import { umntall } from './umntall.js';

export const MOUNT3_PROCEDURES: ProcEntry[] = [
  /* 0 */ mountNull,
  /* 1 */ mnt,
  /* 2 */ dump,
  /* 3 */ umnt,
  /* 4 */ umntall,
  /* 5 */ exportProc,
];

export const mount3Program: Program = {
  name: 'mount',
  prog: MOUNT_PROGRAM,
  versions: new Map([[MOUNT_V3, MOUNT3_PROCEDURES]]),
};
